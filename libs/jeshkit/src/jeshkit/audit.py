"""The audit log of admin actions, in each service's own database, and the admin's view of it.

A use case that an admin performs calls `record(session, actor, action, target, details)` before it commits:
the row is written in the same transaction as the change, so an action is logged exactly when it happened.
`GET <api prefix>/admin/audit` (admin only, jeshkit.audit_api) lists the rows, newest first, a page at a time
(`?limit=50&before=<id of the last row seen>`). Each service's migration calls `create_audit_log()`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from jeshkit.logs import current_request_id


class Actor(Protocol):
    """Who acts: jeshkit.security.Principal (the caller's verified token)."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class ActorRef:
    """An actor known by id only (a use case given actor_id / actor_is_admin)."""

    id: int
    role: str = "admin"


AUDIT_DDL = [
    """
    CREATE TABLE IF NOT EXISTS audit_log (
        id bigserial PRIMARY KEY,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        actor_id bigint NOT NULL,
        actor_role text NOT NULL,
        action text NOT NULL,
        target text NOT NULL,
        details jsonb NOT NULL DEFAULT '{}'::jsonb,
        request_id text
    )
    """,
]


def create_audit_log() -> None:
    """Run inside an Alembic migration."""
    from alembic import op

    for statement in AUDIT_DDL:
        op.execute(statement)


def drop_audit_log() -> None:
    from alembic import op

    op.execute("DROP TABLE IF EXISTS audit_log")


def record(session: Session, actor: Actor, action: str, target: str,
           details: Mapping[str, Any] | None = None) -> None:
    """Log that `actor` did `action` (e.g. "unit.updated") to `target` (e.g. "unit:12"), in the caller's
    transaction; `details` is what changed (JSON). The caller commits."""
    session.execute(
        text("INSERT INTO audit_log (actor_id, actor_role, action, target, details, request_id) "
             "VALUES (:actor_id, :actor_role, :action, :target, CAST(:details AS jsonb), :request_id)"),
        {"actor_id": actor.id, "actor_role": actor.role, "action": action, "target": target,
         "details": json.dumps(dict(details or {}), default=str), "request_id": current_request_id()},
    )
