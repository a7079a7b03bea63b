"""CustomerErased in notifications (Kenya's Data Protection Act, s.40): the recipient's details and the address and
text of every message of theirs go; the rows stay."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Table, bindparam, case, delete, func, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.models import BookingFacts, HeldMessage, Notification, Recipient, ScheduledNotice

log = logging.getLogger("notifications.erasure")

_FACTS = cast(Table, BookingFacts.__table__)
_RECIPIENTS = cast(Table, Recipient.__table__)
_NOTICES = cast(Table, ScheduledNotice.__table__)
_NOTIFICATIONS = cast(Table, Notification.__table__)
_HELD = cast(Table, HeldMessage.__table__)

# What a message said is gone (a reminder's values too); its row stays (template, channel, status, times, the
# provider's id) for the counts and for the delivery reports still to come. One not sent yet never goes. A provider's
# error may name the address: only the service's own words stay.
ERASED_CANCELLED = "cancelled: the customer's data was erased"


def _erase_recipient_statement() -> Any:
    """The recipient without details, marked erased (the first erasure's moment stays); a row even for a user never
    heard of, so that no later event of theirs makes one."""
    statement = insert(_RECIPIENTS).values(user_id=bindparam("user_id"), erased_at=bindparam("erased_at"))
    return statement.on_conflict_do_update(
        index_elements=[_RECIPIENTS.c.user_id],
        set_={"email": None, "phone": None, "name": None, "updated_at": func.now(),
              "erased_at": func.coalesce(_RECIPIENTS.c.erased_at, statement.excluded.erased_at)},
    )


_ERASE_RECIPIENT = _erase_recipient_statement()
_DROP_HELD = delete(_HELD).where(_HELD.c.user_id == bindparam("user_id"))
_DROP_NOTICES = delete(_NOTICES).where(_NOTICES.c.booking_id.in_(
    select(_FACTS.c.booking_id).where(_FACTS.c.user_id == bindparam("user_id"))))
_QUEUED = _NOTIFICATIONS.c.status == "queued"
_ERASE_MESSAGES = (
    update(_NOTIFICATIONS)
    .where(_NOTIFICATIONS.c.user_id == bindparam("erased_user"))
    .values(
        to="", subject=None, body="", params=None,
        status=case((_QUEUED, literal("failed")), else_=_NOTIFICATIONS.c.status),
        last_error=case(
            (_QUEUED, literal(ERASED_CANCELLED)),
            (or_(_NOTIFICATIONS.c.last_error.like("delivery report: %"),
                 _NOTIFICATIONS.c.last_error == ERASED_CANCELLED), _NOTIFICATIONS.c.last_error),
            else_=None,
        ),
    )
)


def erase_customer(*, session: Session, user_id: int, erased_at: datetime) -> int:
    """CustomerErased: the recipient's details go and the row is marked (it stays erased, and nothing is sent to
    them any more; the language and opt-outs stay, they say nothing of the person); messages still held or planned
    are dropped, those queued are cancelled, and every message of theirs loses its address and text. The marker
    first: once it is committed nothing is queued or held for them, and the messages' update, the last statement,
    sees every message committed before it started. Idempotent. Returns how many messages were scrubbed."""
    session.execute(_ERASE_RECIPIENT, {"user_id": user_id, "erased_at": erased_at})
    session.execute(_DROP_HELD, {"user_id": user_id})
    session.execute(_DROP_NOTICES, {"user_id": user_id})
    scrubbed = cast(CursorResult[Any], session.execute(_ERASE_MESSAGES, {"erased_user": user_id})).rowcount
    log.info("user %s erased: contact details removed, %d message(s) scrubbed", user_id, scrubbed,
             extra={"user_id": user_id})
    return scrubbed
