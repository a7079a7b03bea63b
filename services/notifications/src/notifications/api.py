"""Thin HTTP routes of the notifications service."""

from __future__ import annotations

import hmac
import json
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from jeshkit.db import SessionDep
from jeshkit.errors import NotFound
from jeshkit.middleware import bad_text
from jeshkit.schemas import ERROR_RESPONSES, Envelope
from jeshkit.security import CurrentUser
from notifications import actions
from notifications.links import without_secret_links
from notifications.models import Notification, Recipient
from notifications.schemas import (
    MAX_ID,
    Acknowledged,
    Channel,
    NotificationOut,
    PreferencesIn,
    PreferencesOut,
    Status,
    SupportOut,
    Template,
)
from notifications.texts import Texts

router = APIRouter(prefix="/api/notifications", tags=["notifications"], responses=ERROR_RESPONSES)


def _out(row: Notification, texts: Texts) -> NotificationOut:
    out = NotificationOut.model_validate(row, from_attributes=True)
    # A password reset link is a secret: only the email carries it, no listing shows it (links.py).
    return out.model_copy(update={"body": without_secret_links(out.body, texts.hidden_link(out.language))})


def _preferences(row: Recipient) -> PreferencesOut:
    return PreferencesOut(user_id=row.user_id, language=row.language,  # type: ignore[arg-type]
                          sms=row.sms_enabled, email=row.email_enabled)


@router.get("", response_model=Envelope[list[NotificationOut]], summary="Messages sent to the caller (admin: anyone)")
def list_notifications(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    template: Template | None = None,
    channel: Channel | None = None,
    status: Status | None = None,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="admin only")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="skip this many (the next page: offset + limit)")] = 0,
) -> Envelope[list[NotificationOut]]:
    """Newest first (by `created_at`, then `id`), a page of `limit` from `offset`. A customer sees their own
    messages; an admin sees everyone's and may filter by `user_id`. A password reset link is never shown (not even
    to its owner): only the email has it."""
    filters = actions.ListFilters(template=template, channel=channel, status=status, user_id=user_id, limit=limit,
                                  offset=offset)
    texts: Texts = request.app.state.texts
    return Envelope(data=[_out(row, texts) for row in actions.list_notifications(session=session, user=user,
                                                                                  filters=filters)])


@router.get("/preferences", response_model=Envelope[PreferencesOut], summary="The caller's language and opt-outs")
def get_preferences(user: CurrentUser, session: SessionDep) -> Envelope[PreferencesOut]:
    return Envelope(data=_preferences(actions.get_preferences(session=session, user=user)))


@router.put("/preferences", response_model=Envelope[PreferencesOut], summary="Set the caller's language and opt-outs")
def set_preferences(
    body: PreferencesIn, user: CurrentUser, session: SessionDep, request: Request
) -> Envelope[PreferencesOut]:
    """`sms:false` / `email:false` stop reminders on that channel (those still waiting are withdrawn); receipts
    and security messages always go. A reminder still waiting (quiet hours) goes in the `language` chosen."""
    row = actions.set_preferences(session=session, user=user, language=body.language, sms=body.sms,
                                  email=body.email, texts=request.app.state.texts)
    return Envelope(data=_preferences(row))


@router.get("/support", response_model=Envelope[SupportOut], summary="The number customers call (anyone)")
def support(request: Request, response: Response) -> Envelope[SupportOut]:
    """The number the messages give (`SUPPORT_PHONE`), for the portal's footer and its "call us" texts. No login;
    caches may keep it five minutes."""
    response.headers["Cache-Control"] = "public, max-age=300"
    texts: Texts = request.app.state.texts
    return Envelope(data=SupportOut(phone=texts.support_phone))


@router.post(
    "/hooks/sms/{token}", response_model=Envelope[Acknowledged], summary="Africa's Talking delivery report",
    openapi_extra={"requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "status": {"type": "string"}, "phoneNumber": {"type": "string"},
                       "networkCode": {"type": "string"}, "failureReason": {"type": "string"},
                       "retryCount": {"type": "string"}},
        "required": ["id", "status"],
    }}}}},
)
async def sms_delivery_report(
    request: Request, token: Annotated[str, Path(max_length=200)], session: SessionDep
) -> Envelope[Acknowledged]:
    """Form fields `id` (the messageId) and `status`: `Success` → delivered; `Failed`, `Rejected`,
    `AbsentSubscriber`, `Expired` → failed; others leave it sent. An unknown token is 404."""
    expected: str = request.app.state.at_callback_token
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotFound()
    form = _report_fields((await request.body())[:10_000], request.headers.get("content-type", ""))
    provider_id, status = form.get("id", "").strip(), form.get("status", "").strip()
    # A form's fields are not looked at by the kit's input check (JSON only): text no database stores is no report.
    if provider_id and status and not bad_text(provider_id) and not bad_text(status):
        await run_in_threadpool(actions.record_delivery_report, session=session, provider_id=provider_id,
                                status=status)
    return Envelope(data=Acknowledged())


def _report_fields(raw: bytes, content_type: str) -> dict[str, str]:
    """Africa's Talking posts a form; a JSON object is read too (nothing else is, and nothing fails)."""
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            body = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return {}
        return {str(k): str(v) for k, v in body.items()} if isinstance(body, dict) else {}
    return {key: values[0] for key, values in parse_qs(text).items()}
