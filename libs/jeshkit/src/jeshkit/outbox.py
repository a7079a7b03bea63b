"""Integration events and the transactional outbox: staging an event, and handing it to the relay at commit.

`stage(session, SomeEvent(...))` writes the event in the caller's transaction. When that transaction commits, the
process that committed hands its rows to its relay (jeshkit.relay), which publishes them at once from the event loop:
no NOTIFY, no claim and no thread hop between a commit and its publication. A row staged in a savepoint that was
rolled back, or in a transaction that did not commit, is never published.
No order is guaranteed to consumers (replicas publish in parallel and a retried row goes out after later ones):
handlers must not depend on the order of events.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.orm import Session, SessionTransaction

from jeshkit.logs import current_request_id
from jeshkit.tracing import traceparent

if TYPE_CHECKING:
    from jeshkit.events.base import EventData

log = logging.getLogger("jeshkit.outbox")


@dataclass(frozen=True)
class Event:
    """The contract's envelope: {id, type, version, occurred_at, source, data}."""

    id: str
    type: str
    version: int
    occurred_at: str
    source: str
    data: dict[str, Any]

    def moment(self) -> datetime:
        """When it occurred, timezone-aware (UTC when the text gave no offset); now when the text is unreadable."""
        try:
            moment = datetime.fromisoformat(self.occurred_at.replace("Z", "+00:00"))
        except ValueError:
            return datetime.now(UTC)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "version": self.version,
            "occurred_at": self.occurred_at,
            "source": self.source,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> Event:
        if not isinstance(raw, dict):
            raise ValueError("event is not a JSON object")
        try:
            event = cls(
                id=str(uuid.UUID(str(raw["id"]))),
                type=str(raw["type"]),
                version=int(raw["version"]),
                occurred_at=str(raw["occurred_at"]),
                source=str(raw["source"]),
                data=raw["data"],
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed event envelope: {exc}") from exc
        if not isinstance(event.data, dict):
            raise ValueError("event data is not a JSON object")
        return event


def subject_for(prefix: str, event_type: str) -> str:
    return f"{prefix}.{event_type}"


def stage(
    session: Session, event: EventData | str, data: dict[str, Any] | None = None, *, version: int = 1
) -> Event:
    """Write an event into the outbox inside the caller's transaction (sent iff the transaction commits).

    `stage(session, PaymentSucceeded(...))`: type, version and source come from the model (jeshkit.events).
    The older `stage(session, "PaymentSucceeded", {...})` is checked against the same model, so neither form
    can publish data its contract refuses (EventDataError).
    """
    from jeshkit.events.base import EventData, EventDataError, model_for

    if isinstance(event, EventData):
        model: EventData = event
    else:
        model_class = model_for(event, version)
        if model_class is None:
            raise EventDataError(f"no event model for {event} v{version} (add it to jeshkit.events)")
        model = model_class.parse(data if data is not None else {})
    envelope = Event(
        id=str(uuid.uuid4()),
        type=model.event_type,
        version=model.version,
        occurred_at=datetime.now(UTC).isoformat(),
        source=session.info.get("service", "unknown"),
        data=model.to_data(),
    )
    row = OutboxRow(
        id=envelope.id,
        subject=subject_for(session.info.get("subject_prefix", "jesh.events"), envelope.type),
        payload=json.dumps(envelope.to_dict()),
        request_id=current_request_id(),
        traceparent=traceparent(),  # the trace goes on in the consumers (a NATS header)
    )
    session.execute(
        _INSERT,
        {"type": envelope.type, "version": envelope.version, **row.__dict__},
    )
    publish_on_commit(session, row)
    return envelope


_INSERT = text(
    "INSERT INTO outbox (id, type, version, subject, payload, request_id, traceparent) "
    "VALUES (:id, :type, :version, :subject, CAST(:payload AS jsonb), :request_id, :traceparent)"
)


@dataclass(frozen=True)
class OutboxRow:
    """What publishing an outbox row takes (a claimed row has the same attributes)."""

    id: str
    subject: str
    payload: str
    request_id: str | None = None
    traceparent: str | None = None


# session.info keys: the process's relay (set by jeshkit.messaging in every process), the rows the session's
# open transaction has written, each with the (nested) transaction that wrote it, and those its last commit kept.
RELAY = "jeshkit.outbox.relay"
_PENDING = "jeshkit.outbox.pending"
_COMMITTED = "jeshkit.outbox.committed"


def publish_on_commit(session: Session, row: OutboxRow) -> None:
    """Have the process publish an outbox row the session just wrote as soon as its transaction commits (a process
    that runs no relay leaves it to the sweep of one that does), and keep it as what that commit kept (committed)."""
    written_in = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(_PENDING, []).append((written_in, row))


def committed(session: Session) -> list[OutboxRow]:
    """The rows of the events the session's last commit kept, for a request to wait until a service that must follow
    at once has applied them (jeshkit.applied)."""
    return list(session.info.get(_COMMITTED, ()))


@sa_event.listens_for(Session, "after_commit")
def _publish_committed(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint released: its rows are still the outer transaction's
    rows = [row for _, row in session.info.pop(_PENDING, ())]
    session.info[_COMMITTED] = rows
    relay = session.info.get(RELAY)
    if rows and relay is not None:
        try:
            relay.publish_committed(rows)
        except Exception:  # the commit stands whatever happens here: the sweep sends the rows
            log.exception("could not hand %d committed outbox rows to the relay", len(rows))


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Rows written in the transaction (or savepoint) rolled back, or in one nested in it, are never published."""
    pending = session.info.get(_PENDING)
    if not pending:
        return

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is previous_transaction:
                return True
            transaction = transaction.parent
        return False

    session.info[_PENDING] = [(written_in, row) for written_in, row in pending if not inside(written_in)]


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_uncommitted(session: Session, transaction: SessionTransaction) -> None:
    """The outermost transaction ended without after_commit having taken its rows (closed or rolled back)."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)
