"""DKIM signatures (RFC 6376, by dkimpy): each finished message signed once, in the process that built it.

The signature covers the headers a receiver judges a list by (From, To, Subject,
Date, Message-ID, List-Id, List-Unsubscribe and List-Unsubscribe-Post) and the
body, with relaxed canonicalisation for both (a relay that re-folds a header or
trims a line's trailing space does not break it). It is computed over the message
as the receiver will read it: a message already in SMTP's wire form is signed
without its dot-stuffing, and the DKIM-Signature header is put in front of it in
the same line ends.
"""

from __future__ import annotations

from typing import Any

from digest.config import Config
from digest.config.mailing import KEY_HINT, DkimConfig
from digest.errors import ConfigError

SIGNED_HEADERS = (
    b"from",
    b"to",
    b"subject",
    b"date",
    b"message-id",
    b"list-id",
    b"list-unsubscribe",
    b"list-unsubscribe-post",
)


class Signer:
    """Signs messages with one domain, selector and key; the key is parsed when the signer is made."""

    def __init__(self, config: DkimConfig) -> None:
        import dkim
        from dkim.crypto import UnparsableKeyError, parse_pem_private_key

        try:
            parse_pem_private_key(config.key)
        except (UnparsableKeyError, ValueError, IndexError, TypeError) as exc:
            raise ConfigError(
                config.key_source, "", f"the DKIM key cannot be read as a private key ({exc})", hint=KEY_HINT
            ) from None
        self.config = config
        self.sign_with: Any = dkim.sign
        self.domain = config.domain.encode("ascii")
        self.selector = config.selector.encode("ascii")

    def sign(self, data: bytes, *, stuffed: bool = False) -> bytes:
        """``data`` with a DKIM-Signature header in front; ``stuffed``: data is dot-stuffed SMTP wire form."""
        plain = data.replace(b"\r\n..", b"\r\n.") if stuffed else data
        header: bytes = self.sign_with(
            plain,
            self.selector,
            self.domain,
            self.config.key,
            include_headers=list(SIGNED_HEADERS),
            canonicalize=(b"relaxed", b"relaxed"),
        )
        if not data[: data.find(b"\n") + 1].endswith(b"\r\n"):
            header = header.replace(b"\r\n", b"\n")
        return header + data


def dot_stuffs(wire_format: Any) -> bool:
    """Whether a transport's wire form dot-stuffs lines (SMTP does; a folder of files does not)."""
    return bytes(wire_format(b"Subject: x\r\n\r\n.\r\n")).endswith(b"..\r\n")


def signer_for(config: Config) -> Signer | None:
    """The configured signer (None without ``delivery.dkim``); a ConfigError now when the key is not one."""
    return Signer(config.delivery.dkim) if config.delivery.dkim is not None else None
