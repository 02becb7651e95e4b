"""DKIM: every message signed once, verified by dkimpy against the public key; a bad key stops at start."""

from __future__ import annotations

import base64
import email
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from digest.errors import ExitStatus

from conftest import EXAMPLE_DUMPS, SECRET, Project
from smtp_server import SMTPServer

READERS = ["ada@example.org", "grace@example.org"]
SIGNED = {"from", "to", "subject", "date", "message-id", "list-id", "list-unsubscribe", "list-unsubscribe-post"}


class KeyPair:
    """An RSA key written as a file only its owner reads, and the DNS TXT record of its selector."""

    def __init__(self, folder: Path) -> None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        public = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
        self.path = folder / "dkim.pem"
        self.path.write_bytes(self.pem)
        self.path.chmod(0o600)
        self.asked: list[bytes] = []

    def dns(self, name: bytes, timeout: int = 5) -> bytes | None:
        self.asked.append(name)
        return self.record if name == b"digest2026._domainkey.example.org." else None

    def verify(self, data: bytes) -> bool:
        return bool(dkim.verify(data, dnsfunc=self.dns))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> KeyPair:
    return KeyPair(tmp_path_factory.mktemp("dkim"))


def configure(project: Project, key_file: Path | str | None, smtp: SMTPServer | None = None) -> None:
    project.environ["DIGEST_SECRET_KEY"] = SECRET
    if smtp is not None:
        project.environ["DIGEST_SMTP_URL"] = smtp.url
    key = f"\n    key_file: {key_file}" if key_file is not None else ""
    project.write_config(
        "email:\n  from: Paper digest <digest@example.org>\n",
        delivery=f"  dkim:\n    domain: example.org\n    selector: digest2026{key}\n",
    )


def publish(project: Project) -> None:
    assert project.run("ingest", str(EXAMPLE_DUMPS[0])).code == 0
    assert project.run("publish").code == 0
    for address in READERS:
        assert project.run("subscribers", "add", address).code == 0


def signature_tags(data: bytes) -> dict[str, str]:
    (value,) = email.message_from_bytes(data).get_all("DKIM-Signature")
    tags = (part.strip().split("=", 1) for part in "".join(value.split()).split(";") if part.strip())
    return {name: text for name, text in tags}


def test_every_message_is_signed_and_verifies(project: Project, smtp_server: SMTPServer, keys: KeyPair) -> None:
    configure(project, keys.path, smtp_server)
    publish(project)
    result = project.run("send")
    assert (result.code, result.stderr) == (0, "")
    assert len(smtp_server.sink.received) == len(READERS)
    for item in smtp_server.sink.received:
        assert keys.verify(item.data)
        tags = signature_tags(item.data)
        assert (tags["d"], tags["s"], tags["c"], tags["a"]) == (
            "example.org",
            "digest2026",
            "relaxed/simple",
            "rsa-sha256",
        )
        assert set(tags["h"].lower().split(":")) == SIGNED
        tampered = item.data.replace(b"Subject: ", b"Subject: Re: ", 1)
        assert not keys.verify(tampered)
    assert set(keys.asked) == {b"digest2026._domainkey.example.org."}


def test_a_line_that_starts_with_a_dot_keeps_the_signature(
    project: Project, smtp_server: SMTPServer, keys: KeyPair
) -> None:
    """SMTP doubles a leading dot on the wire; the signature is over the message the receiver reads."""
    from digest.config import load_config
    from digest.mail.signing import Signer, dot_stuffs
    from digest.mail.smtp import SMTPTransport

    configure(project, keys.path, smtp_server)
    config = load_config(project.config, project.environ)
    assert config.delivery.dkim is not None
    message = (
        b"From: digest@example.org\nTo: ada@example.org\nSubject: dots\nDate: Sun, 22 Nov 2026 09:00:00 +0000\n"
        b"Message-ID: <dots@example.org>\n\n.a line with a dot\n..two dots\n.\nlast\n"
    )
    transport = SMTPTransport(smtp_server.url, sender="digest@example.org", timeout=10, rate=0)
    assert dot_stuffs(transport.wire_format)
    wire = transport.wire_format(message)
    try:
        transport.send("ada@example.org", Signer(config.delivery.dkim).sign(wire, stuffed=True), key="dots")
    finally:
        transport.close()
    (item,) = smtp_server.sink.received
    assert b"\r\n.a line with a dot\r\n..two dots\r\n.\r\n" in item.data
    assert keys.verify(item.data)


def test_outbox_and_confirmation_messages_are_signed(project: Project, keys: KeyPair, smtp_server: SMTPServer) -> None:
    configure(project, keys.path)
    publish(project)
    assert project.run("send").code == 0
    files = sorted((project.root / "outbox" / "new").glob("*.eml"))
    assert len(files) == len(READERS) and all(keys.verify(path.read_bytes()) for path in files)
    configure(project, keys.path, smtp_server)
    assert project.run("subscribers", "add", "--pending", "new@example.org").code == 0
    (confirmation,) = smtp_server.sink.received
    assert b"Confirm your subscription" in confirmation.data and keys.verify(confirmation.data)


def test_the_key_may_come_from_the_environment(project: Project, smtp_server: SMTPServer, keys: KeyPair) -> None:
    configure(project, None, smtp_server)
    project.environ["DIGEST_DKIM_KEY"] = keys.pem.decode()
    publish(project)
    assert project.run("send").code == 0
    assert all(keys.verify(item.data) for item in smtp_server.sink.received)


def check_refused(project: Project, *words: str) -> None:
    for command in (("status",), ("send",)):
        result = project.run(*command)
        assert result.code == ExitStatus.USAGE, result.stderr
        assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
        assert all(word in result.stderr for word in words), result.stderr


def test_a_missing_key_is_a_configuration_error_at_start(project: Project, tmp_path: Path) -> None:
    configure(project, tmp_path / "absent.pem")
    check_refused(project, "delivery.dkim.key_file", "absent.pem does not exist", "openssl genrsa")
    configure(project, None)
    check_refused(project, "delivery.dkim.key_file: is required", "DIGEST_DKIM_KEY")
    configure(project, tmp_path)
    check_refused(project, "is not a file")


def test_a_key_readable_by_others_is_refused(project: Project, tmp_path: Path, keys: KeyPair) -> None:
    exposed = tmp_path / "exposed.pem"
    exposed.write_bytes(keys.pem)
    exposed.chmod(0o644)
    configure(project, exposed)
    check_refused(project, "is open to others (mode -rw-r--r--)", f"chmod 600 {exposed}")


def test_a_file_that_is_no_key_is_refused(project: Project, tmp_path: Path, smtp_server: SMTPServer) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"hello\x00\x1b[31m" * 10)
    garbage.chmod(0o600)
    configure(project, garbage, smtp_server)
    check_refused(project, "does not hold a private key in PEM form")
    locked = tmp_path / "locked.pem"
    locked.write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n")
    locked.chmod(0o600)
    configure(project, locked)
    check_refused(project, "passphrase")


def test_a_broken_key_stops_the_send_before_its_first_message(
    project: Project, tmp_path: Path, smtp_server: SMTPServer
) -> None:
    broken = tmp_path / "broken.pem"
    broken.write_bytes(b"-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n")
    broken.chmod(0o600)
    configure(project, broken, smtp_server)
    publish(project)
    for command in ("send", "run"):
        result = project.run(command)
        assert result.code == ExitStatus.USAGE and "cannot be read as a private key" in result.stderr
        assert result.stderr.count("\n") == 1
    assert smtp_server.sink.received == []


def test_the_environment_key_needs_the_dkim_section(project: Project, keys: KeyPair) -> None:
    project.write_config()
    project.environ["DIGEST_DKIM_KEY"] = keys.pem.decode()
    result = project.run("status")
    assert result.code == ExitStatus.USAGE and "DIGEST_DKIM_KEY is set" in result.stderr


def test_a_key_that_is_not_rsa_is_refused(project: Project, tmp_path: Path, smtp_server: SMTPServer) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    other = tmp_path / "ed25519.pem"
    other.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    other.chmod(0o600)
    configure(project, other, smtp_server)
    publish(project)
    result = project.run("send")
    assert result.code == ExitStatus.USAGE and "must be an RSA key of at least 1024 bits" in result.stderr
    assert smtp_server.sink.received == []


def test_messages_built_in_a_worker_process_are_signed_there(
    project: Project, smtp_server: SMTPServer, keys: KeyPair, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    from digest.mail import assemblers, deliver, signing

    monkeypatch.setattr(deliver, "ASSEMBLE_ALONE", 0)  # build in a forked worker even for two readers
    monkeypatch.setattr(assemblers, "default_processes", lambda: 1)
    where = tmp_path / "signed-in"
    sign = signing.Signer.sign

    def recording(self: signing.Signer, data: bytes, **options: bool) -> bytes:
        with where.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return sign(self, data, **options)

    monkeypatch.setattr(signing.Signer, "sign", recording)
    configure(project, keys.path, smtp_server)
    publish(project)
    assert project.run("send").code == 0
    assert len(smtp_server.sink.received) == len(READERS)
    for item in smtp_server.sink.received:
        assert keys.verify(item.data) and item.data.count(b"DKIM-Signature:") == 1
    pids = where.read_text().split()
    assert len(pids) == len(READERS) and str(os.getpid()) not in pids  # once per message, in the worker


def test_a_digest_whose_text_starts_a_line_with_a_dot_is_signed_over_what_the_receiver_reads(
    project: Project, smtp_server: SMTPServer, keys: KeyPair
) -> None:
    """A title at the start of a text line ('.NET ...') is dot-stuffed on the wire; every signature still holds."""
    configure(project, keys.path, smtp_server)
    dump = EXAMPLE_DUMPS[0].read_text(encoding="utf-8")
    project.drop(EXAMPLE_DUMPS[0], data=dump.replace("Making the Most", ".NET: Making the Most", 1).encode())
    assert project.run("ingest").code == 0
    assert project.run("publish").code == 0
    for address in READERS:
        assert project.run("subscribers", "add", address).code == 0
    assert project.run("send").code == 0
    assert len(smtp_server.sink.received) == len(READERS)
    for item in smtp_server.sink.received:
        assert b"\r\n.NET: Making the Most" in item.data and keys.verify(item.data)
