"""The two ways a message leaves: SMS by Africa's Talking and email by SMTP, behind one small interface.

A channel's send() returns the provider's message id (or None), or raises TransientFailure (try again
later: the provider is down, busy or out of credit) or PermanentFailure (this address will never work).
It is always called outside any database transaction.
"""

from __future__ import annotations

import binascii
import logging
import random
import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, make_msgid
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx

log = logging.getLogger("notifications.channels")


class TransientFailure(Exception):
    """The send may succeed later: it is retried with backoff."""


class PermanentFailure(Exception):
    """The send can never succeed (e.g. an invalid or blacklisted number): the message is marked failed."""


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str | None
    body: str
    html: str | None = None


class Channel(Protocol):
    name: str

    def send(self, message: Outgoing) -> str | None: ...

    def close(self) -> None:
        """The sender's round is over: let go of what send() kept open for the next message."""


# Africa's Talking's per-recipient statusCode: accepted, or refused for good for this number.
AT_ACCEPTED = frozenset({100, 101, 102})  # Processed, Sent, Queued
AT_PERMANENT = frozenset({403, 404, 406, 409})  # InvalidPhoneNumber, UnsupportedNumberType, UserInBlacklist, DND


class AfricasTalkingSms:
    """POST {base}/version1/messaging (form: username, to, message[, from]; header apiKey; JSON answer), on the
    process's HTTP client: its connection is kept alive from one message (and round) to the next."""

    name = "sms"

    def __init__(self, client: httpx.Client, *, base_url: str, username: str, api_key: str,
                 sender_id: str | None = None) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/version1/messaging"
        self._username = username
        self._sender_id = sender_id
        self._headers = {"apiKey": api_key, "Accept": "application/json"}

    def send(self, message: Outgoing) -> str | None:
        form = {"username": self._username, "to": international(message.to), "message": message.body}
        if self._sender_id:
            form["from"] = self._sender_id
        try:
            response = self._client.post(self._url, data=form, headers=self._headers)
        except httpx.HTTPError as exc:
            raise TransientFailure(f"Africa's Talking unreachable: {exc.__class__.__name__}") from None
        if response.status_code >= 300:
            raise TransientFailure(f"Africa's Talking answered HTTP {response.status_code}: {response.text[:200]}")
        try:
            recipients = response.json()["SMSMessageData"]["Recipients"]
            recipient = recipients[0]
            code = int(recipient["statusCode"])
        except (ValueError, KeyError, IndexError, TypeError):
            # "Recipients" is empty when the whole request was refused (SMSMessageData.Message says why).
            raise TransientFailure(f"Africa's Talking answered without a recipient: {response.text[:200]}") from None
        status = str(recipient.get("status", ""))
        if code in AT_ACCEPTED:
            return str(recipient.get("messageId") or "") or None
        if code in AT_PERMANENT:
            raise PermanentFailure(f"Africa's Talking refused the number: {code} {status}")
        raise TransientFailure(f"Africa's Talking could not send now: {code} {status}")

    def close(self) -> None:
        """Nothing to do: the HTTP client (and its kept-alive connection) is the process's, for every round."""


def international(phone: str) -> str:
    """Kenyan numbers are kept as 2547XXXXXXXX; Africa's Talking wants +2547XXXXXXXX."""
    phone = phone.strip()
    return phone if phone.startswith("+") else f"+{phone}"


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    implicit_tls: bool
    username: str | None
    password: str | None

    @classmethod
    def from_url(cls, url: str) -> SmtpServer:
        """smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://... (TLS from the start)."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587 or smtps://host:465")
        implicit_tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit_tls else 587),
            implicit_tls=implicit_tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


class SmtpEmail:
    """SMTP: plain text with an HTML alternative; STARTTLS when offered. One conversation serves a whole round of
    the sender (send() keeps the connection open; close() ends it with QUIT): when the server has dropped it, or
    closes it before a message (421), that message goes once more on a new one. Each message's outcome is still its
    own (a refused recipient fails that message alone)."""

    name = "email"

    def __init__(self, server: SmtpServer, *, sender: str, timeout: float = 10.0, ca_file: str | None = None) -> None:
        self._server = server
        self._sender = sender
        self._envelope_sender = getaddresses([sender])[0][1]
        self._timeout = timeout
        self._ca_file = ca_file
        self._context: ssl.SSLContext | None = None  # made on first use (loading the CAs costs), then kept
        self._smtp: smtplib.SMTP | None = None

    def send(self, message: Outgoing) -> str | None:
        message_id = make_msgid(domain="jesh.local")
        try:
            self._deliver(message, message_id)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"the mail server refused {message.to}: {codes}") from None
            raise TransientFailure(f"the mail server deferred {message.to}: {codes}") from None
        except smtplib.SMTPResponseException as exc:
            self.close()  # whatever state the conversation is in, the next message starts afresh
            raise TransientFailure(f"the mail server answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TransientFailure(f"the mail server is unreachable: {exc.__class__.__name__}") from None
        return message_id

    def close(self) -> None:
        """End the conversation (QUIT), if one is open."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def _deliver(self, message: Outgoing, message_id: str) -> None:
        to = message.to
        raw = mime_bytes(sender=self._sender, to=to, subject=message.subject or "", message_id=message_id,
                         text=message.body, html=message.html)
        if raw is None or not _plain_address(to) or not _plain_address(self._envelope_sender):
            # Unusual headers or an international address: the email package's full treatment, as before.
            with self._connect() as smtp:
                smtp.send_message(_email_message(self._sender, to, message, message_id))
            return
        reused = self._smtp is not None
        smtp = self._smtp or self._open()
        try:
            smtp.sendmail(self._envelope_sender, [to], raw)
        except (smtplib.SMTPServerDisconnected, smtplib.SMTPResponseException) as exc:
            closing = isinstance(exc, smtplib.SMTPServerDisconnected) or exc.smtp_code == 421
            if not (reused and closing):
                raise
            # The server ended the conversation before taking this message (it dropped the idle connection, or
            # closes after so many messages: 421): once more, on a new one.
            self._smtp = None
            smtp.close()
            self._open().sendmail(self._envelope_sender, [to], raw)

    def _open(self) -> smtplib.SMTP:
        self._smtp = self._connect()
        return self._smtp

    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context(cafile=self._ca_file)
        return self._context

    def _connect(self) -> smtplib.SMTP:
        server = self._server
        smtp: smtplib.SMTP
        if server.implicit_tls:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self._timeout, context=self._tls())
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if not server.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=self._tls())
                smtp.ehlo()
            if server.username:
                smtp.login(server.username, server.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp


def _plain_address(address: str) -> bool:
    return address.isascii() and "\r" not in address and "\n" not in address


def _email_message(sender: str, to: str, message: Outgoing, message_id: str) -> EmailMessage:
    """The message built by the email package (its header registry and content manager)."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    mail["Subject"] = message.subject or ""
    mail["Message-ID"] = message_id
    mail.set_content(message.body)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


def mime_bytes(*, sender: str, to: str, subject: str, message_id: str, text: str, html: str | None) -> bytes | None:
    """The message as the email package makes it (From, To, Subject, Message-ID, MIME-Version; a text/plain part,
    with a text/html alternative when there is one; UTF-8, quoted-printable), written directly: the email package's
    header registry and content manager cost more than the rest of a send. None when a header needs more than plain
    ASCII on one line (the caller then uses the email package)."""
    headers = (("From", sender), ("To", to), ("Subject", subject), ("Message-ID", message_id))
    lines = []
    for name, value in headers:
        line = f"{name}: {value}"
        if not value.isascii() or "\r" in value or "\n" in value or len(line) > 78:
            return None
        lines.append(line)
    lines.append("MIME-Version: 1.0")
    if html is None:
        lines.append(_part_headers("plain"))
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + _qp(text)
    boundary = "===============" + f"{random.randrange(sys.maxsize):019d}" + "=="
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    delimiter = f"\r\n--{boundary}\r\n".encode("ascii")
    return b"".join((
        ("\r\n".join(lines) + "\r\n").encode("ascii"),
        delimiter, _part_headers("plain").encode("ascii"), b"\r\n\r\n", _qp(text),
        delimiter, _part_headers("html").encode("ascii"), b"\r\n\r\n", _qp(html),
        f"\r\n--{boundary}--\r\n".encode("ascii"),
    ))


def _part_headers(subtype: str) -> str:
    return f'Content-Type: text/{subtype}; charset="utf-8"\r\nContent-Transfer-Encoding: quoted-printable'


def _qp(text: str) -> bytes:
    """UTF-8, quoted-printable, CRLF line ends, ending with a line end (as the email package's set_content)."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    if not body.endswith("\n"):
        body += "\n"
    return binascii.b2a_qp(body.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")
