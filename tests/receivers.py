"""Real alert receivers on loopback: an SMTP server (aiosmtpd, with STARTTLS) and an HTTP one."""

from __future__ import annotations

import datetime as dt
import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.dagster_ui import free_port


@dataclass
class Inbox:
    """What a receiver got: (subject or title, body) in arrival order."""

    messages: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, title: str, body: str) -> None:
        with self.lock:
            self.messages.append((title, body))

    @property
    def titles(self) -> list[str]:
        with self.lock:
            return [t for t, _ in self.messages]


@contextmanager
def http_receiver(port: int = 0) -> Iterator[tuple[str, Inbox]]:
    """An HTTP server on 127.0.0.1 that stores every JSON POST; yields (json:// URL, inbox)."""
    inbox = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            length = int(self.headers.get("Content-Length", 0))
            payload = json.loads(self.rfile.read(length) or b"{}")
            inbox.add(payload.get("title", ""), payload.get("message", ""))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"json://127.0.0.1:{server.server_port}/alerts", inbox
    finally:
        server.shutdown()
        server.server_close()


def _self_signed(folder: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    return context


@contextmanager
def smtp_receiver(folder: Path) -> Iterator[tuple[str, Inbox]]:
    """An SMTP server on 127.0.0.1 requiring STARTTLS; yields (mailtos:// URL, inbox)."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd API)
            mail = message_from_bytes(envelope.content, policy=default_policy)
            body = mail.get_body(("plain", "html"))
            inbox.add(str(mail["Subject"]), body.get_content() if body else "")
            return "250 OK"

    port = free_port()
    controller = Controller(
        Handler(),
        hostname="127.0.0.1",
        port=port,
        tls_context=_self_signed(folder),
        require_starttls=True,
    )
    controller.start()
    try:
        # The test certificate is self-signed, hence verify=no; the channel is still TLS.
        yield (
            (
                f"mailtos://127.0.0.1:{port}?mode=starttls&verify=no"
                f"&from=csp-alerts@example.org&to=on-call@example.org"
            ),
            inbox,
        )
    finally:
        controller.stop()
