"""The double opt-in mail: a pending subscriber's one link to the page that confirms their subscription."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from digest.config import Config
from digest.mail.mailer import make_transport
from digest.mail.signing import dot_stuffs, signer_for
from digest.models import Subscriber
from digest.tokens import make_token

if TYPE_CHECKING:
    from digest.site.render import Renderer


def confirmation_message(
    config: Config, renderer: Renderer, subscriber: Subscriber, *, secret: bytes, now: dt.datetime
) -> bytes:
    """The double opt-in mail: one link to a page whose button confirms the subscription."""
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    from digest.mail.message import POLICY

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
    from digest.site.render import Renderer

    transport = make_transport(config)
    try:
        renderer = Renderer(config.site, config.email, config.templates)
        data = transport.wire_format(confirmation_message(config, renderer, subscriber, secret=secret, now=now))
        signer = signer_for(config)
        if signer is not None:
            data = signer.sign(data, stuffed=dot_stuffs(transport.wire_format))
        transport.send(subscriber.email, data, key=f"confirm-{subscriber.id}-{int(now.timestamp())}")
    finally:
        transport.close()
