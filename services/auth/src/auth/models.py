"""Tables of the auth database."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Integer,
    String,
    Text,
    Uuid,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from jeshkit.db import new_metadata

ROLES = ("user", "admin")


class Base(DeclarativeBase):
    metadata = new_metadata()


class User(Base):
    """An account. `email` is stored trimmed and lower-cased, so the unique key is case-insensitive."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("email = lower(btrim(email))", name="email_normalised"),
        CheckConstraint("char_length(name) BETWEEN 1 AND 100", name="name_length"),
        CheckConstraint("phone ~ '^254[17][0-9]{8}$'", name="phone_normalised"),
        CheckConstraint("role IN ('user', 'admin')", name="role_known"),
        CheckConstraint("erased_at IS NULL OR closed_at IS NOT NULL", name="erased_closed"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text, server_default="user")
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # closed by an operator: no login
    # Its personal data erased (auth.erasure): a placeholder name and email, no phone, no password; never reopened.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The customer asked, from the portal, for their personal data to be erased (an operator acts on it).
    erasure_requested_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshFamily(Base):
    """The refresh tokens descended from one login; revoking it ends them all (logout, or a token reused)."""

    __tablename__ = "refresh_families"
    __table_args__ = (
        CheckConstraint("revoked_reason IN ('logout', 'reuse', 'password', 'admin')", name="revoked_reason_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class RefreshToken(Base):
    """One refresh token of a family; only its SHA-256 is kept. Spent once `used_at` is set."""

    __tablename__ = "refresh_tokens"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("refresh_families.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginThrottle(Base):
    """Login attempts not yet proven right for one email (known or not) from one client address."""

    __tablename__ = "login_throttles"
    __table_args__ = (CheckConstraint("attempts >= 0", name="attempts_non_negative"),)

    email: Mapped[str] = mapped_column(Text, primary_key=True)
    client_ip: Mapped[str] = mapped_column(Text, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer)
    last_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PasswordReset(Base):
    """An emailed link to choose a new password: only its SHA-256 is kept; spent once `used_at` is set."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AccountLoginGuard(Base):
    """Login attempts not yet proven right for one email (known or not) from every address together. Once
    `failures` reaches the account-wide limit within its window, the email is guarded until `guarded_until`:
    only addresses the account has logged in from may try (auth.throttle)."""

    __tablename__ = "account_login_guards"
    __table_args__ = (CheckConstraint("failures >= 0", name="failures_non_negative"),)

    email: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    guarded_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KnownLoginAddress(Base):
    """A client address an account has logged in from with its password, and when it last did."""

    __tablename__ = "known_login_addresses"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    client_ip: Mapped[str] = mapped_column(Text, primary_key=True)
    last_success_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class CredentialBucket(Base):
    """Token bucket of one client address on /login and /register (the credentials rate limit)."""

    __tablename__ = "credential_buckets"

    client_ip: Mapped[str] = mapped_column(Text, primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class StreamErasure(Base):
    """An erased account whose personal events are still to be deleted from the JetStream stream (auth.stream_erasure):
    written with the erasure, deleted once done. `due_at`: when it may be tried (again), a claim's lease."""

    __tablename__ = "stream_erasures"

    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
