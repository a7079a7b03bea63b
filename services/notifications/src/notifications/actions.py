"""The notifications API's actions (api.py): a user's messages listed, their language and opt-outs, Africa's Talking's
delivery reports. The reactions to events and the queueing of messages are in service.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from jeshkit.db import autocommit
from jeshkit.security import Principal
from notifications import waiting
from notifications.models import Notification, Recipient
from notifications.service import REMINDERS
from notifications.texts import Texts

# Africa's Talking delivery report statuses that end a message's journey.
DELIVERED_REPORTS = frozenset({"Success"})
FAILED_REPORTS = frozenset({"Failed", "Rejected", "AbsentSubscriber", "Expired"})


@dataclass(frozen=True)
class ListFilters:
    template: str | None = None
    channel: str | None = None
    status: str | None = None
    user_id: int | None = None
    limit: int = 100
    offset: int = 0


_NOTIFICATIONS = cast(Table, Notification.__table__)


def list_notifications(*, session: Session, user: Principal, filters: ListFilters) -> list[Notification]:
    """Newest first, a page of them: the caller's own (an admin: everybody's, or one user's)."""
    query = select(Notification)
    if not user.is_admin:
        query = query.where(Notification.user_id == user.id)
    elif filters.user_id is not None:
        query = query.where(Notification.user_id == filters.user_id)
    if filters.template is not None:
        query = query.where(Notification.template == filters.template)
    if filters.channel is not None:
        query = query.where(Notification.channel == filters.channel)
    if filters.status is not None:
        query = query.where(Notification.status == filters.status)
    query = query.order_by(Notification.created_at.desc(), Notification.id.desc())
    query = query.offset(filters.offset).limit(filters.limit)
    return list(session.scalars(query).all())


def get_preferences(*, session: Session, user: Principal) -> Recipient:
    return session.get(Recipient, user.id) or Recipient(user_id=user.id, language="en", sms_enabled=True,
                                                         email_enabled=True)


def set_preferences(*, session: Session, user: Principal, language: str | None, sms: bool | None,
                    email: bool | None, texts: Texts) -> Recipient:
    """Set the caller's language and opt-outs (fields left out keep their value); the reminders still waiting go in
    the language chosen, on the channels kept."""
    values: dict[str, Any] = {}
    if language is not None:
        values["language"] = language
    if sms is not None:
        values["sms_enabled"] = sms
    if email is not None:
        values["email_enabled"] = email
    statement = insert(Recipient).values(user_id=user.id, **values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[Recipient.user_id], set_={**values, "updated_at": datetime.now(UTC)}
        )
        if values
        else statement.on_conflict_do_nothing(index_elements=[Recipient.user_id])
    )
    # Reminders still waiting (e.g. for the quiet hours to end) on a channel just turned off are withdrawn.
    stopped = [channel for channel, wanted in (("sms", sms), ("email", email)) if wanted is False]
    if stopped:
        session.execute(
            delete(Notification).where(
                Notification.user_id == user.id, Notification.channel.in_(stopped),
                Notification.template.in_(REMINDERS), Notification.status == "queued", Notification.attempts == 0,
            )
        )
    recipient = session.get(Recipient, user.id, populate_existing=True)
    assert recipient is not None
    if language is not None:
        waiting.render_again(session, recipient, texts)
    session.commit()
    return recipient


_REPORTED = (
    _NOTIFICATIONS.c.channel == "sms", _NOTIFICATIONS.c.provider_id == bindparam("report_id"),
    _NOTIFICATIONS.c.status.in_(("queued", "sent")),
)
_DELIVERED = update(_NOTIFICATIONS).where(*_REPORTED).values(status="delivered", delivered_at=func.now())
_UNDELIVERED = update(_NOTIFICATIONS).where(*_REPORTED).values(status="failed", last_error=bindparam("error"))


def record_delivery_report(*, session: Session, provider_id: str, status: str) -> bool:
    """Africa's Talking's delivery report: Success → delivered, a final failure → failed; returns if one changed.
    One statement, its own transaction (no BEGIN and COMMIT round trips around it)."""
    if status in DELIVERED_REPORTS:
        statement, params = _DELIVERED, {"report_id": provider_id}
    elif status in FAILED_REPORTS:
        statement, params = _UNDELIVERED, {"report_id": provider_id, "error": f"delivery report: {status}"}
    else:
        return False  # Sent, Submitted, Buffered: still on its way
    with autocommit(session) as connection:
        result = connection.execute(statement, params)
    return bool(cast(CursorResult[Any], result).rowcount)
