"""Email messages: one multipart/alternative per recipient, text first, HTML last.

Pure: the rendered digest and the recipient in, an :class:`EmailMessage` out.
Header values are folded and encoded by the email package's SMTP policy, so
untrusted text never reaches a header raw.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage

from digest.render import RenderedEmail, personalise

POLICY = email.policy.SMTP.clone(max_line_length=78)


@dataclass(frozen=True, slots=True)
class Envelope:
    sender: str  # "Name <address>"
    recipient: str  # a bare address
    message_id: str  # without angle brackets
    date: dt.datetime
    unsubscribe_url: str


def build_message(rendered: RenderedEmail, envelope: Envelope) -> EmailMessage:
    html_text, text = personalise(rendered, unsubscribe_url=envelope.unsubscribe_url)
    message = EmailMessage(policy=POLICY)
    message["From"] = envelope.sender
    message["To"] = Address(addr_spec=envelope.recipient)
    message["Subject"] = rendered.subject
    message["Date"] = email.utils.format_datetime(envelope.date)
    message["Message-ID"] = f"<{envelope.message_id}>"
    message["MIME-Version"] = "1.0"
    message.set_content(text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(html_text, subtype="html", charset="utf-8", cte="quoted-printable")
    return message
