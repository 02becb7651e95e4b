"""DKIM signatures (RFC 6376): each finished message signed once, in the process that built it.

The signature covers the headers a receiver judges a list by (From, To, Subject,
Date, Message-ID, List-Id, List-Unsubscribe and List-Unsubscribe-Post) and the
body: rsa-sha256, relaxed canonicalisation for the headers (a relay that re-folds
one does not break it) and simple for the body (dkimpy's default, as large
senders use). dkimpy does the canonicalisation, the header hash and the folding;
the RSA operation is OpenSSL's (through ``cryptography``): dkimpy's own, in pure
Python, costs ten times as much, and a send signs every message.

It is computed over the message as the receiver will read it: a message already
in SMTP's wire form is signed without its dot-stuffing, and the DKIM-Signature
header is put in front of it in the same line ends.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import time
from collections.abc import Callable, Iterable
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
CANONICALIZATION = b"relaxed/simple"
#: RFC 8301: verifiers refuse RSA keys shorter than 1024 bits.
MIN_KEY_BITS = 1024


class Signer:
    """Signs messages with one domain, selector and key; the key is parsed when the signer is made."""

    def __init__(self, config: DkimConfig, clock: Callable[[], float] = time.time) -> None:
        import dkim
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
        from dkim.canonicalization import CanonicalizationPolicy

        try:
            key = serialization.load_pem_private_key(config.key, password=None)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                config.key_source, "", f"the DKIM key cannot be read as a private key ({exc})", hint=KEY_HINT
            ) from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < MIN_KEY_BITS:
            raise ConfigError(
                config.key_source, "", f"the DKIM key must be an RSA key of at least {MIN_KEY_BITS} bits", hint=KEY_HINT
            )
        self.key = key
        self.padding = padding.PKCS1v15()
        self.prehashed = utils.Prehashed(hashes.SHA256())
        self.policy = CanonicalizationPolicy.from_c_value(CANONICALIZATION)
        self.dkim: Any = dkim
        self.clock = clock
        self.domain = config.domain.encode("ascii")
        self.selector = config.selector.encode("ascii")

    def sign(self, data: bytes, *, stuffed: bool = False, wire: bool = False) -> bytes:
        """``data`` with a DKIM-Signature header in front; ``stuffed``: data is dot-stuffed SMTP wire form;
        ``wire``: it is SMTP's wire form, every line ending in CRLF (no need to look)."""
        crlf = wire or data[: data.find(b"\n") + 1].endswith(b"\r\n")
        header = self.signature(data.replace(b"\r\n..", b"\r\n.") if stuffed else data, crlf_only=wire)
        return (header if crlf else header.replace(b"\r\n", b"\n")) + data

    def signature(self, message: bytes, *, crlf_only: bool = False) -> bytes:
        """The DKIM-Signature header line (folded, ending in CRLF) of a message as its receiver reads it."""
        dkim = self.dkim
        end = message.find(b"\r\n\r\n")
        head, body = (message[: end + 2], message[end + 4 :]) if end >= 0 else dkim.rfc822_parse(message)
        headers, _ = dkim.rfc822_parse(head + b"\r\n") if end >= 0 else (head, None)
        if not crlf_only and body.count(b"\n") != body.count(b"\r\n"):  # (a folder's file may have bare LFs)
            body = dkim.rfc822_parse(b"x: y\r\n\r\n" + body)[1]
        body_hash = base64.b64encode(hashlib.sha256(self.policy.canonicalize_body(body)).digest())
        fields = [
            (b"v", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", CANONICALIZATION),
            (b"d", self.domain),
            (b"s", self.selector),
            (b"t", str(int(self.clock())).encode("ascii")),
            (b"h", b" : ".join(SIGNED_HEADERS)),
            (b"bh", body_hash),
            (b"b", b""),
        ]
        value = dkim.fold(b"; ".join(b"=".join(field) for field in fields), namelen=len(b"DKIM-Signature"))
        hasher = hashlib.sha256()
        dkim.hash_headers(
            hasher,
            self.policy,
            self.policy.canonicalize_headers(headers),
            SIGNED_HEADERS,
            (b"DKIM-Signature", b" " + value),
            dict(fields),
        )
        signature = self.key.sign(hasher.digest(), self.padding, self.prehashed)
        fields[-1] = (b"b", base64.b64encode(signature))
        value = dkim.fold(b"; ".join(b"=".join(field) for field in fields) + b"\r\n", namelen=len(b"DKIM-Signature"))
        return b"DKIM-Signature: " + bytes(value)


def stuffed_lines(blocks: Iterable[bytes]) -> bool:
    """Whether any of these (dot-stuffed) blocks has a line that starts with a dot (else there is nothing to
    undo before signing: the values filled in between them start no line with one)."""
    return any(block.startswith(b"..") or b"\n.." in block for block in blocks)


def dot_stuffs(wire_format: Any) -> bool:
    """Whether a transport's wire form dot-stuffs lines (SMTP does; a folder of files does not)."""
    return bytes(wire_format(b"Subject: x\r\n\r\n.\r\n")).endswith(b"..\r\n")


def signer_for(config: Config) -> Signer | None:
    """The configured signer (None without ``delivery.dkim``); a ConfigError now when the key is not one."""
    return _signer(config.delivery.dkim) if config.delivery.dkim is not None else None


@functools.lru_cache(maxsize=4)
def _signer(config: DkimConfig) -> Signer:
    """One signer per key and process (OpenSSL checks a key as it loads it: some 50 ms)."""
    return Signer(config)
