"""The channels against real servers: SMTP with STARTTLS when the server offers it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from jeshstack.procs import free_port
from notifications.channels import Outgoing, SmtpEmail, SmtpServer, TransientFailure
from smtp_sim import read_mail


def self_signed(folder):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def test_email_uses_starttls_when_the_server_offers_it(tmp_path):
    cert_file, key_file = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    port = free_port()
    # The server refuses mail until the client has switched to TLS.
    controller = Controller(Mailbox(str(tmp_path / "mail")), hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True)
    controller.start()
    try:
        server = SmtpServer.from_url(f"smtp://127.0.0.1:{port}")
        message = Outgoing(to="a@example.co.ke", subject="Karibu", body="Habari", html="<p>Habari</p>")
        SmtpEmail(server, sender="Jesh <no-reply@jesh.local>", ca_file=str(cert_file)).send(message)
        (mail,) = read_mail(tmp_path / "mail")
        assert mail["Subject"] == "Karibu" and mail["X-Peer"]
        # A certificate nobody vouches for is not trusted: the mail waits (a transient failure), it is not sent.
        with pytest.raises(TransientFailure):
            SmtpEmail(server, sender="Jesh <no-reply@jesh.local>").send(message)
        assert len(read_mail(tmp_path / "mail")) == 1
    finally:
        controller.stop()


def test_smtp_urls():
    assert SmtpServer.from_url("smtp://mailer%40jesh.co.ke:p%40ss@smtp.example.com") == SmtpServer(
        host="smtp.example.com", port=587, implicit_tls=False, username="mailer@jesh.co.ke", password="p@ss")
    assert SmtpServer.from_url("smtps://smtp.example.com").port == 465
    with pytest.raises(ValueError):
        SmtpServer.from_url("http://smtp.example.com")
