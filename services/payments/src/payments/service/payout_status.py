"""Payouts whose result never came: asked about with M-PESA's Transaction Status query instead of being sent again.

A B2C payout M-PESA accepted (`paying`) and whose result has not come after REFUND_RESULT_WAIT_SECONDS is asked about,
with no transaction open; the answer comes to the payout's own status URL. `Completed` pays the refund (with the
receipt), `Failed` fails it (a new payout may then be approved), and "no such transaction" puts it back to `approved`,
to be sent again with the same OriginatorConversationID (which never pays twice).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from payments.daraja_wire import parse_b2c_status, parse_body
from payments.models import Refund
from payments.providers import PaymentProviders, ProviderError
from payments.service.refunds import _failed, _stage
from payments.service.settle import lease_next

log = logging.getLogger("payments.service")

FAILED_STATUSES = ("failed", "declined", "cancelled", "expired")


def confirm_lost_payouts(
    *, session_factory: sessionmaker[Session], providers: PaymentProviders, wait_seconds: float, batch_size: int
) -> int:
    """Ask M-PESA about accepted payouts whose result has not come for `wait_seconds` (each claimed by one replica;
    asked again after as long again if no answer comes)."""
    asked = 0
    for _ in range(batch_size):
        with session_factory() as session:
            refund = lease_next(  # the lease is also the clock of the next question
                session, Refund, Refund.method == "mpesa", Refund.status == "paying",
                Refund.originator_conversation_id.is_not(None), Refund.result_token.is_not(None),
                idle=timedelta(seconds=wait_seconds),
            )
            if refund is None:
                break
            refund_id, originator, token = refund.id, refund.originator_conversation_id or "", refund.result_token or ""
            session.commit()
            try:
                providers.get("mpesa").confirm_payout(originator_id=originator, result_token=token)  # no transaction
            except ProviderError as exc:
                log.warning("cannot ask M-PESA about refund %s now: %s", refund_id, exc.message)
                break
            log.info("refund %s: no B2C result yet, asked M-PESA with Transaction Status", refund_id)
            asked += 1
    return asked


def process_b2c_status(*, session: Session, raw: bytes, token: str) -> None:
    """A Transaction Status result at the payout's status URL: paid, failed, or not found (sent again later)."""
    status = parse_body(raw, parse_b2c_status)
    if status is None:
        log.warning("ignored a Transaction Status result that is not one (%d bytes)", len(raw))
        return
    refund = session.scalars(select(Refund).where(Refund.result_token == token).with_for_update()).first()
    if refund is None or refund.status not in ("approved", "paying") or (
        status.originator_conversation_id is not None
        and status.originator_conversation_id != refund.originator_conversation_id
    ):
        log.warning("ignored a Transaction Status result for no refund awaiting one")
        session.rollback()
        return
    if status.status is not None and status.status.lower() == "completed":
        refund.status = "paid"
        refund.receipt = status.receipt or refund.conversation_id or refund.originator_conversation_id
        refund.paid_at = datetime.now(UTC)
        _stage(session, refund, "RefundPaid", receipt=refund.receipt)
        log.info("refund %s paid (%s), told by Transaction Status", refund.id, refund.receipt)
    elif status.status is not None and status.status.lower() in FAILED_STATUSES:
        _failed(session, refund, f"M-PESA reports the refund payout {status.status}", renew_id=True)
    else:
        log.warning("refund %s: M-PESA knows no such payout; it is sent again with the same id", refund.id)
        refund.status = "approved"
        refund.updated_at = datetime.now(UTC) - timedelta(seconds=30)  # due for a re-send now
    session.commit()
