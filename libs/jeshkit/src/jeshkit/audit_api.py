"""`GET <api prefix>/admin/audit`: the audit log of admin actions (jeshkit.audit), newest first, admin only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import text

from jeshkit.db import SessionDep
from jeshkit.schemas import ERROR_RESPONSES, Envelope, UtcTimestamp
from jeshkit.security import AdminUser

MAX_ID = 2**63 - 1


class AuditEntryOut(BaseModel):
    id: int
    occurred_at: UtcTimestamp
    actor_id: int = Field(description="the admin's user id")
    actor_role: str
    action: str = Field(description='what was done, e.g. "unit.updated", "refund.approved"')
    target: str = Field(description='what it was done to, "<kind>:<id>", e.g. "unit:12"')
    details: dict[str, Any]
    request_id: str | None = Field(description="the request's X-Request-Id (the logs of that request carry it)")


def audit_router(api_prefix: str) -> APIRouter:
    router = APIRouter(prefix=f"{api_prefix}/admin/audit", tags=["admin"], responses=ERROR_RESPONSES)

    @router.get("", response_model=Envelope[list[AuditEntryOut]], summary="Audit log of admin actions (admin)")
    def list_audit_log(
        _: AdminUser,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=200, description="rows per page")] = 50,
        before: Annotated[int | None, Query(ge=1, le=MAX_ID, description="only rows older than this id: "
                                            "the id of the last row of the previous page")] = None,
    ) -> Envelope[list[AuditEntryOut]]:
        """Who did what to which target, newest first."""
        rows = session.execute(
            text("SELECT id, occurred_at, actor_id, actor_role, action, target, details, request_id FROM audit_log "
                 "WHERE (CAST(:before AS bigint) IS NULL OR id < :before) ORDER BY id DESC LIMIT :limit"),
            {"before": before, "limit": limit},
        ).all()
        return Envelope(data=[AuditEntryOut.model_validate(row._mapping) for row in rows])

    return router
