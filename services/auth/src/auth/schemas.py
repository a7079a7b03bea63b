"""Request and response models of the auth API, and the contract's input rules (email, Kenyan phone)."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import BaseModel, Field, field_validator

from jeshkit.inputs import SEPARATORS as PHONE_SEPARATORS
from jeshkit.inputs import kenyan_mobile
from jeshkit.schemas import UtcTimestamp

EMAIL_MAX_LENGTH = 254
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024  # Argon2 takes any length; this only bounds the work one request can ask for
NAME_MAX_LENGTH = 100

# Pragmatic address syntax: one @, a local part without spaces, a dotted domain of valid labels.
_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)


def storable(value: str) -> str:
    """ValueError for what PostgreSQL text and UTF-8 cannot carry: NUL and lone surrogates."""
    if "\x00" in value or any(unicodedata.category(c) == "Cs" for c in value):
        raise ValueError("Must not contain NUL characters or lone surrogates")
    return value


def plain_text(value: str) -> str:
    """ValueError for control characters (NUL, newlines...) and lone surrogates: a name is one line of text."""
    if any(unicodedata.category(c) in ("Cc", "Cs") for c in value):
        raise ValueError("Must not contain control characters")
    return value


# The domain of the address an erased account is given (auth.erasure.erased_email): nobody may take one, or that
# account's erasure would find its placeholder taken.
ERASED_DOMAIN = "erased.invalid"


def normalise_email(value: str) -> str:
    """Trimmed and lower-cased; ValueError when it is not an address (or one at the erased accounts' domain)."""
    email = value.strip().lower()
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL.match(email) or email.endswith("@" + ERASED_DOMAIN):
        raise ValueError("Enter a valid email address")
    return email


def normalise_phone(value: str) -> str:
    """A Kenyan mobile number in its stored form 2547XXXXXXXX / 2541XXXXXXXX; ValueError otherwise."""
    phone = kenyan_mobile(value)
    if phone is None:
        raise ValueError("Enter a Kenyan phone number such as 0712345678 or 254712345678")
    return phone


# The same rules as JSON Schema, for the OpenAPI documents (the validators above are what decides).
PHONE_PATTERN = r"^(?:\+?254|0)[17][0-9]{8}$"
Email = Annotated[str, Field(json_schema_extra={"format": "email", "maxLength": EMAIL_MAX_LENGTH})]
Phone = Annotated[
    str,
    Field(json_schema_extra={
        "pattern": PHONE_PATTERN,
        "description": "Kenyan mobile number: 07XXXXXXXX, 01XXXXXXXX, +2547XXXXXXXX, 2547XXXXXXXX (or with 1)",
    }),
]
Name = Annotated[str, Field(json_schema_extra={"minLength": 1, "maxLength": NAME_MAX_LENGTH})]


# Bidirectional embeddings, overrides and isolates: in a name they can make the console show another text than the
# one stored ("\u202egnirts" reads "string"). A name never needs them.
_DIRECTION_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def normalise_name(value: str) -> str:
    name = plain_text(value).strip()
    if any(c in _DIRECTION_CONTROLS for c in name):
        raise ValueError("Must not contain text direction controls")
    # Invisible characters alone (a zero-width space, a byte order mark) are no name: one visible character at least.
    visible = any(not c.isspace() and unicodedata.category(c) != "Cf" for c in name)
    if not visible or len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"Name must be 1 to {NAME_MAX_LENGTH} characters")
    return name


class RegisterIn(BaseModel):
    """A new account. Unknown fields (a `role` above all) are ignored: every registration is a user."""

    email: Email
    phone: Phone
    name: Name
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)
    _name = field_validator("name")(normalise_name)
    _password = field_validator("password")(storable)


class ProfileIn(BaseModel):
    """PATCH /profile: any of email, phone and name, by the rules of registration."""

    email: Email = None  # type: ignore[assignment]  # absent: unchanged; null is refused
    phone: Phone = None  # type: ignore[assignment]
    name: Name = None  # type: ignore[assignment]

    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)
    _name = field_validator("name")(normalise_name)


class LoginIn(BaseModel):
    email: str = Field(max_length=1024)
    password: str = Field(max_length=PASSWORD_MAX_LENGTH)

    _email = field_validator("email")(storable)
    _password = field_validator("password")(storable)


MAX_REFRESH_TOKEN = 512  # far above what auth issues (43 characters)


class RefreshIn(BaseModel):
    refresh_token: str | None = Field(
        default=None, min_length=1, max_length=MAX_REFRESH_TOKEN,
        description="required, unless the request sends X-Jesh-Session: cookie and the jesh_refresh cookie",
    )

    @field_validator("refresh_token")
    @classmethod
    def _token(cls, value: str | None) -> str | None:
        return None if value is None else storable(value)


class PasswordChangeIn(BaseModel):
    """POST /password: the current password proves the owner; the new one follows the rules of registration."""

    current_password: str = Field(max_length=PASSWORD_MAX_LENGTH)
    new_password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

    _current = field_validator("current_password")(storable)
    _new = field_validator("new_password")(storable)


class PasswordResetIn(BaseModel):
    """POST /password-reset: the account's email."""

    email: Email

    _email = field_validator("email")(normalise_email)


class PasswordResetConfirmIn(BaseModel):
    """POST /password-reset/confirm: the emailed link's token and the new password."""

    token: str = Field(min_length=1, max_length=512)
    password: str = Field(min_length=PASSWORD_MIN_LENGTH, max_length=PASSWORD_MAX_LENGTH)

    _token = field_validator("token")(storable)
    _password = field_validator("password")(storable)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    role: str
    phone: str | None


class AuthOut(BaseModel):
    """Register, login and refresh: the compat shape plus the refresh token."""

    success: bool = True
    token: str
    refresh_token: str | None = Field(
        description="null when the request sent X-Jesh-Session: cookie: it is then the HttpOnly jesh_refresh cookie"
    )
    user: UserOut


class ProfileOut(BaseModel):
    """GET /profile answers the user at the top level (compat: no envelope)."""

    id: int
    email: str
    name: str
    phone: str | None
    role: str


class ErasureRequestOut(BaseModel):
    """GET/POST/DELETE /api/auth/profile/erasure-request: the customer's own request to erase their personal data."""

    requested_at: UtcTimestamp | None = Field(description=(
        "when the customer asked for their personal data to be erased; null: no request (or withdrawn)"))


class MessageOut(BaseModel):
    success: bool = True
    message: str


# --- the operators' directory of accounts (auth.accounts) ---------------------------------------------------

Role = Literal["user", "admin"]
MAX_IDS = 200


class AccountOut(BaseModel):
    """An account as the operators' directory lists it."""

    id: int
    email: str
    name: str
    phone: str | None = Field(description="2547XXXXXXXX / 2541XXXXXXXX, or null (an admin made at start-up)")
    role: Role
    created_at: UtcTimestamp
    closed_at: UtcTimestamp | None = Field(description="closed by an operator: nobody logs in until it is reopened")
    erasure_requested_at: UtcTimestamp | None = Field(description=(
        "the customer asked from the portal for their personal data to be erased (Kenya's Data Protection Act)"))
    erased_at: UtcTimestamp | None = Field(description=(
        "its personal data erased by an operator (POST …/erase): the name and email are placeholders, no phone; "
        "closed for good"))


class AccountDetailOut(AccountOut):
    """One account with how it signs in."""

    last_login_at: UtcTimestamp | None = Field(description=(
        "the last login with its password, registering included (a refresh does not count)"))
    active_sessions: int = Field(description="signed-in devices: refresh token families not ended or expired")
    login_guarded_until: UtcTimestamp | None = Field(
        description="while set, too many wrong passwords from many addresses: only addresses the account has "
                    "logged in from may try (DELETE …/login-guard lifts it)")


class AccountIn(BaseModel):
    """POST /users: an account an operator opens for a customer (the rules of registration; no password: the
    customer chooses it with the emailed link)."""

    email: Email
    phone: Phone
    name: Name

    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)
    _name = field_validator("name")(normalise_name)


class AccountChangeIn(BaseModel):
    """PATCH /users/{id}: make an account an admin (an operator) or a customer again, and/or correct its contact
    details (the rules of registration). Absent: unchanged; null is refused."""

    role: Role = None  # type: ignore[assignment]
    email: Email = None  # type: ignore[assignment]
    phone: Phone = None  # type: ignore[assignment]
    name: Name = None  # type: ignore[assignment]

    _email = field_validator("email")(normalise_email)
    _phone = field_validator("phone")(normalise_phone)
    _name = field_validator("name")(normalise_name)


def parse_ids(value: str) -> list[int]:
    """`ids=1,2,3` (up to MAX_IDS user ids); ValueError otherwise."""
    parts = [part.strip() for part in value.split(",")]
    if len(parts) > MAX_IDS or not all(part.isascii() and part.isdigit() and len(part) <= 19 for part in parts):
        raise ValueError(f"ids must be a comma-separated list of up to {MAX_IDS} user ids")
    ids = [int(part) for part in parts]
    if not all(1 <= i <= 2**63 - 1 for i in ids):
        raise ValueError(f"ids must be a comma-separated list of up to {MAX_IDS} user ids")
    return ids


def phone_fragment(query: str) -> str | None:
    """The digits to look for in stored phones (2547…) when `query` looks like (part of) a phone number in any
    accepted form — 0712 345 678, +254712…, 712345 —; None when it is not one."""
    compact = PHONE_SEPARATORS.sub("", query)
    if compact.startswith("+"):
        compact = compact[1:]
    if len(compact) < 3 or not compact.isascii() or not compact.isdigit():
        return None
    if compact.startswith("0"):
        return "254" + compact[1:]
    return compact
