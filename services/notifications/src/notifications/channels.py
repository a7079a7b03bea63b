"""The two ways a message leaves: SMS by Africa's Talking and email by SMTP, behind one small interface.

A channel's send() returns the provider's message id (or None), or raises TransientFailure (try again
later: the provider is down, busy or out of credit) or PermanentFailure (this address will never work).
It is always called outside any database transaction.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
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


# Africa's Talking's per-recipient statusCode: accepted, or refused for good for this number.
AT_ACCEPTED = frozenset({100, 101, 102})  # Processed, Sent, Queued
AT_PERMANENT = frozenset({403, 404, 406, 409})  # InvalidPhoneNumber, UnsupportedNumberType, UserInBlacklist, DND


class AfricasTalkingSms:
    """POST {base}/version1/messaging (form: username, to, message[, from]; header apiKey; JSON answer)."""

    name = "sms"

    def __init__(self, client: httpx.Client, *, base_url: str, username: str, api_key: str,
                 sender_id: str | None = None) -> None:
        self._client = client
        self._url = base_url.rstrip("/") + "/version1/messaging"
        self._username = username
        self._api_key = api_key
        self._sender_id = sender_id

    def send(self, message: Outgoing) -> str | None:
        form = {"username": self._username, "to": international(message.to), "message": message.body}
        if self._sender_id:
            form["from"] = self._sender_id
        try:
            response = self._client.post(
                self._url, data=form, headers={"apiKey": self._api_key, "Accept": "application/json"}
            )
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
    """One SMTP conversation per message: plain text with an HTML alternative; STARTTLS when offered."""

    name = "email"

    def __init__(self, server: SmtpServer, *, sender: str, timeout: float = 10.0, ca_file: str | None = None) -> None:
        self._server = server
        self._sender = sender
        self._timeout = timeout
        self._ca_file = ca_file

    def send(self, message: Outgoing) -> str | None:
        mail = EmailMessage()
        mail["From"] = self._sender
        mail["To"] = message.to
        mail["Subject"] = message.subject or ""
        message_id = make_msgid(domain="jesh.local")
        mail["Message-ID"] = message_id
        mail.set_content(message.body)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        try:
            with self._connect() as smtp:
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            if codes and all(500 <= code < 600 for code in codes):
                raise PermanentFailure(f"the mail server refused {message.to}: {codes}") from None
            raise TransientFailure(f"the mail server deferred {message.to}: {codes}") from None
        except smtplib.SMTPResponseException as exc:
            raise TransientFailure(f"the mail server answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise TransientFailure(f"the mail server is unreachable: {exc.__class__.__name__}") from None
        return message_id

    def _connect(self) -> smtplib.SMTP:
        server = self._server
        context = ssl.create_default_context(cafile=self._ca_file)
        smtp: smtplib.SMTP
        if server.implicit_tls:
            smtp = smtplib.SMTP_SSL(server.host, server.port, timeout=self._timeout, context=context)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=self._timeout)
        try:
            smtp.ehlo()
            if not server.implicit_tls and smtp.has_extn("starttls"):
                smtp.starttls(context=context)
                smtp.ehlo()
            if server.username:
                smtp.login(server.username, server.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp
