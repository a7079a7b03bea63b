"""Events published by auth."""

from __future__ import annotations

from typing import Literal

from jeshkit.events.base import Email, EventData, Id, Text

Role = Literal["user", "admin"]


class UserRegistered(EventData):
    """A new account exists."""

    source = "auth"
    user_id: Id
    email: Email
    name: Text
    role: Role
    phone: Text | None = None


class UserUpdated(EventData):
    """An account's profile (email, phone, name) or role changed; the data is the account as it is now."""

    source = "auth"
    user_id: Id
    email: Email
    phone: Text | None
    name: Text
    role: Role
