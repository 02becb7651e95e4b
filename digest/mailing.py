"""What a send needs besides the ledger: the transport, the per-variant messages, the confirmation mail."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from digest.config import Config
from digest.message import CompiledMessage, ListHeaders, prepare_message
from digest.models import Digest, Subscriber
from digest.render import Renderer
from digest.subscribers import filter_papers
from digest.tokens import make_token
from digest.transport import OutboxTransport, SMTPTransport, Transport


def make_transport(config: Config) -> Transport:
    if config.delivery.smtp_url:
        return SMTPTransport(
            config.delivery.smtp_url,
            sender=config.email.sender,
            timeout=config.delivery.timeout.total_seconds(),
            data_timeout=config.delivery.data_timeout.total_seconds(),
            rate=config.delivery.rate,
        )
    return OutboxTransport(config.delivery.outbox)


class Variants:
    """Message templates per interest filter, rendered and serialised once each."""

    def __init__(
        self,
        digest: Digest,
        config: Config,
        renderer: Renderer,
        date: dt.datetime,
        wire_format: Callable[[bytes], bytes],
    ) -> None:
        self.digest = digest
        self.wire_format = wire_format
        self.config = config
        self.renderer = renderer
        self.date = date
        self.headers = ListHeaders(
            list_id=config.email.list_id,
            list_name=config.site.title,
            unsubscribe_mailto=config.email.unsubscribe_mailto,
        )
        self.cache: dict[tuple[tuple[str, ...], tuple[str, ...]], CompiledMessage | None] = {}

    def for_subscriber(self, subscriber: Subscriber) -> CompiledMessage | None:
        """The subscriber's template; None when their filter leaves nothing to send."""
        key = subscriber.filter_key
        if key not in self.cache:
            papers = filter_papers(self.digest.papers, subscriber.include, subscriber.exclude)
            if not papers:
                self.cache[key] = None
            else:
                variant = dataclasses.replace(self.digest, papers=papers)
                rendered = self.renderer.email_message(variant)
                template = prepare_message(
                    rendered, sender=self.config.email.sender, date=self.date, headers=self.headers
                )
                self.cache[key] = template.compile(self.wire_format)
        return self.cache[key]


def unsubscribe_url(config: Config, key: bytes, subscriber: Subscriber) -> str:
    return f"{config.site.url}unsubscribe/{make_token(key, 'unsubscribe', subscriber.id, subscriber.email)}"


def confirmation_message(
    config: Config, renderer: Renderer, subscriber: Subscriber, *, secret: bytes, now: dt.datetime
) -> bytes:
    """The double opt-in mail: one link to a page whose button confirms the subscription."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from digest.message import POLICY

    token = make_token(secret, "confirm", subscriber.id, subscriber.email, issued=now)
    text = renderer.render("confirm.txt.j2", confirm_url=f"{config.site.url}confirm/{token}", subscriber=subscriber)
    message = EmailMessage(policy=POLICY)
    message["From"] = config.email.sender
    message["To"] = subscriber.email
    message["Subject"] = f"Confirm your subscription to {config.site.title}"
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=config.email.list_id)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text, charset="utf-8", cte="8bit")
    return message.as_bytes(policy=POLICY)


def send_confirmation(config: Config, subscriber: Subscriber, *, secret: bytes, now: dt.datetime) -> None:
    """Mail a pending subscriber their confirmation link, through the configured transport."""
    transport = make_transport(config)
    try:
        renderer = Renderer(config.site, config.email, config.templates)
        data = confirmation_message(config, renderer, subscriber, secret=secret, now=now)
        transport.send(
            subscriber.email, transport.wire_format(data), key=f"confirm-{subscriber.id}-{int(now.timestamp())}"
        )
    finally:
        transport.close()
