"""The channels against real servers: SMTP with STARTTLS when the server offers it."""

from __future__ import annotations

import datetime as dt
import io
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


@pytest.mark.parametrize("body", [
    "Hello Amani,\n\nYour booking #12 is confirmed.\n\nJesh Storage",
    "Habari Wanjiku,\n\n" + "Nafasi yako ya KES 3,500 imethibitishwa = sawa. " * 6 + "\n.\n. dot first\ntrailing  \n",
    "Café — naïve 🚚 résumé\r\nline two\rline three\n\n\nend\n",
    "",
])
def test_the_mime_message_is_the_email_packages_message(body):
    from email import policy
    from email.generator import BytesGenerator
    from email.parser import BytesParser

    from notifications.channels import _email_message, mime_bytes
    from notifications.texts import as_html

    sender, to, subject = "Jesh Storage <no-reply@jesh.local>", "a@example.co.ke", "Karibu"
    message_id = "<1.2@jesh.local>"
    outgoing = Outgoing(to=to, subject=subject, body=body, html=as_html(body))
    raw = mime_bytes(sender=sender, to=to, subject=subject, message_id=message_id, text=body, html=outgoing.html)
    assert raw is not None and raw.isascii() and b"\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    ours = BytesParser(policy=policy.default).parsebytes(raw)
    flat = io.BytesIO()  # as smtplib's send_message writes it
    BytesGenerator(flat).flatten(_email_message(sender, to, outgoing, message_id), linesep="\r\n")
    theirs = BytesParser(policy=policy.default).parsebytes(flat.getvalue())
    for header in ("From", "To", "Subject", "Message-ID", "MIME-Version", "Content-Type"):
        assert str(ours[header]).split(";")[0] == str(theirs[header]).split(";")[0], header
    assert ours.get_content_type() == "multipart/alternative"
    for kind in ("plain", "html"):
        mine, other = ours.get_body((kind,)), theirs.get_body((kind,))
        assert mine.get_content() == other.get_content()
        assert mine.get_content_charset() == "utf-8" and mine["Content-Transfer-Encoding"] == "quoted-printable"
    assert [p.get_content_type() for p in ours.iter_parts()] == ["text/plain", "text/html"]


def test_headers_the_fast_path_does_not_write_go_through_the_email_package():
    from notifications.channels import mime_bytes

    common = {"sender": "Jesh <no-reply@jesh.local>", "to": "a@example.co.ke", "message_id": "<1@jesh.local>",
              "text": "x", "html": None}
    assert mime_bytes(subject="Nafasi imeghairiwa", **common) is not None
    assert mime_bytes(subject="Malipo — asante", **common) is None  # not ASCII
    assert mime_bytes(subject="a\r\nBcc: someone@example.com", **common) is None
    assert mime_bytes(subject="word " * 20, **common) is None  # would need folding


def test_one_conversation_serves_many_messages_and_a_dropped_one_is_reopened(tmp_path):
    port = free_port()
    controller = Controller(Mailbox(str(tmp_path / "mail")), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = SmtpEmail(SmtpServer.from_url(f"smtp://127.0.0.1:{port}"), sender="Jesh <no-reply@jesh.local>")
        for i in range(3):
            channel.send(Outgoing(to=f"u{i}@example.co.ke", subject=f"Ujumbe {i}", body=f"Habari {i}",
                                  html=f"<p>Habari {i}</p>"))
        assert channel._smtp is not None
        channel._smtp.sock.close()  # the server (or the network) dropped the idle conversation
        channel.send(Outgoing(to="u3@example.co.ke", subject="Ujumbe 3", body="Habari 3", html="<p>Habari 3</p>"))
        channel.close()
        assert channel._smtp is None
        mails = read_mail(tmp_path / "mail")
        assert sorted(m["To"] for m in mails) == [f"u{i}@example.co.ke" for i in range(4)]
        assert len({m["X-Peer"] for m in mails[:3]}) == 1  # the first three came over one connection
        assert all("Habari" in m.get_body(("plain",)).get_content() for m in mails)
    finally:
        controller.stop()


class OneMessagePerConnection(Mailbox):
    """A mail server that takes one message per connection, then answers 421 (as some providers do after N)."""

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if getattr(session, "took_one", False):
            return "421 4.7.0 Too many messages on this connection"
        session.took_one = True
        envelope.mail_from = address
        return "250 OK"


def test_a_server_closing_after_some_messages_gets_the_next_one_on_a_new_conversation(tmp_path):
    port = free_port()
    controller = Controller(OneMessagePerConnection(str(tmp_path / "mail")), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = SmtpEmail(SmtpServer.from_url(f"smtp://127.0.0.1:{port}"), sender="Jesh <no-reply@jesh.local>")
        for i in range(3):
            channel.send(Outgoing(to=f"u{i}@example.co.ke", subject="Ujumbe", body="Habari", html="<p>Habari</p>"))
        channel.close()
        mails = read_mail(tmp_path / "mail")
        assert sorted(m["To"] for m in mails) == [f"u{i}@example.co.ke" for i in range(3)]
        assert len({m["X-Peer"] for m in mails}) == 3
    finally:
        controller.stop()
