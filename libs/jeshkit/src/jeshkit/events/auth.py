"""Events published by auth."""

from __future__ import annotations

from typing import Literal

from jeshkit.events.base import Email, EventData, Id, Moment, Secret, Text

Role = Literal["user", "admin"]


class UserRegistered(EventData):
    """A new account exists."""

    source = "auth"
    personal = True
    user_id: Id
    email: Email
    name: Text
    role: Role
    phone: Text | None = None


class UserUpdated(EventData):
    """An account's profile (email, phone, name) or role changed; the data is the account as it is now."""

    source = "auth"
    personal = True
    user_id: Id
    email: Email
    phone: Text | None
    name: Text
    role: Role


class PasswordResetRequested(EventData):
    """Somebody asked for a new password for this account (`purpose` `reset`), or an operator opened the account for
    a customer at the desk, who chooses their first password with the link (`invite`): notifications emails the
    link, to the account's email only. `token` is a secret (single use, until `expires_at`); auth keeps only its
    hash."""

    source = "auth"
    personal = True
    user_id: Id
    token: Secret
    expires_at: Moment
    purpose: Literal["reset", "invite"] = "reset"


class PasswordChanged(EventData):
    """The account's password changed (`how`: `changed` by its owner signed in, `reset` through an emailed link);
    every session of the account was ended. Notifications tells the owner, in case it was not them."""

    source = "auth"
    user_id: Id
    how: Literal["changed", "reset"]


class SessionsEnded(EventData):
    """Every session of the account ended at `before` (`reason`: `password` changed or reset, `signed_out` by its
    owner on every other device or by an admin, `role`: an admin made a customer). Every process of every service
    refuses the account's access tokens issued before that moment (jeshkit.sessions), though their `exp` is minutes
    away."""

    source = "auth"
    user_id: Id
    before: Moment
    reason: Literal["password", "signed_out", "role"]


class AccountChanged(EventData):
    """An admin closed or reopened the account, or changed its role (`change`); `role` is the account's role now.
    Notifications tells the account's owner at once (a security message: a change they did not expect is a call to
    make)."""

    source = "auth"
    user_id: Id
    change: Literal["closed", "reopened", "role"]
    role: Role


class CustomerErased(EventData):
    """An admin erased the personal data of a closed customer account (Kenya's Data Protection Act, section 40).
    Auth keeps the account's id under a placeholder name and nothing that identifies the person. Each service
    removes what it holds of the person (names, e-mail addresses, phone numbers, addresses, the texts of messages)
    and keeps its financial records (amounts, dates, receipts) under the account's id, as the law asks them kept.
    Auth erases only an account with nothing live: no live booking or rental, no refund owed, no open invoice.
    Nothing of the account changes afterwards; a UserRegistered or UserUpdated of it delivered late must not bring
    the person back."""

    source = "auth"
    user_id: Id
    erased_at: Moment


class ErasureRequested(EventData):
    """The customer asked, from the portal, for their personal data to be erased (Kenya's Data Protection Act,
    section 40). Nothing is erased yet: an operator settles what is live, closes the account and erases it
    (CustomerErased). Notifications acknowledges the request to the customer."""

    source = "auth"
    user_id: Id
    requested_at: Moment
