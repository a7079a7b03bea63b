"""The simulator's HTTP face: Daraja's paths and wire format, plus a few /simulator/* admin paths.

Run it:  uvicorn daraja_sim.app:create_app --factory --host 127.0.0.1 --port 8010
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from daraja_sim.b2c import Payout
from daraja_sim.c2b import COMPLETED, C2BPayment
from daraja_sim.daraja import Daraja, Transaction
from daraja_sim.settings import SimSettings
from daraja_sim.wire import DarajaError, bad_request, phone_of

log = logging.getLogger("daraja_sim")


def create_app(settings: SimSettings | None = None, *, daraja: Daraja | None = None) -> FastAPI:
    """Build the simulator. Pass `daraja` to keep its state across a restart (tests)."""
    settings = settings or SimSettings()
    daraja = daraja or Daraja(settings)
    pending_deliveries: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(timeout=settings.callback_timeout_seconds)
        try:
            yield
        finally:
            for task in pending_deliveries:
                task.cancel()
            await asyncio.gather(*pending_deliveries, return_exceptions=True)
            await app.state.http.aclose()

    app = FastAPI(title="Daraja simulator", version="1.0.0", lifespan=lifespan, redirect_slashes=False)
    app.state.daraja = daraja

    async def deliver(transaction: Transaction) -> dict[str, Any]:
        """POST the callback to CallBackURL once; the outcome is recorded on the transaction."""
        record: dict[str, Any] = {"at": datetime.now(UTC).isoformat()}
        try:
            response = await app.state.http.post(transaction.callback_url, json=transaction.callback_body())
            record["status_code"] = response.status_code
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("callback to %s failed: %s", transaction.callback_url, exc)
        daraja.record_delivery(transaction, record)
        return record

    async def deliver_when_settled(transaction: Transaction, delay: float) -> None:
        await asyncio.sleep(max(delay, 0.0))
        if transaction.send_callback:
            await deliver(transaction)

    def spawn(work: Coroutine[Any, Any, None]) -> None:
        """Run in the background; cancelled and awaited at shutdown."""
        task = asyncio.create_task(work)
        pending_deliveries.add(task)
        task.add_done_callback(pending_deliveries.discard)

    def daraja_error(exc: DarajaError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.http_status)

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            raise bad_request("JSON") from None

    # --- Daraja's own paths ---------------------------------------------------------------------
    @app.get("/oauth/v1/generate")
    async def generate_token(request: Request) -> JSONResponse:
        try:
            answer = daraja.issue_token(request.headers.get("authorization"), request.query_params.get("grant_type"))
        except DarajaError as exc:
            return daraja_error(exc)
        return JSONResponse(answer)

    @app.post("/mpesa/stkpush/v1/processrequest")
    async def stk_push(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            transaction, answer, delay = daraja.stk_push(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        spawn(deliver_when_settled(transaction, delay))
        return JSONResponse(answer)

    @app.post("/mpesa/b2c/v3/paymentrequest")
    async def b2c_payment(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            payout, new = daraja.payouts.request(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        daraja.stats["b2c_requests"] += 1
        if new and not payout.result_lost:  # a repeat: the first answer, no second payout, no second result
            spawn(deliver_payout_result(payout))
        return JSONResponse(payout.answer())

    async def deliver_payout_result(payout: Payout) -> None:
        await asyncio.sleep(max(settings.callback_delay_seconds, 0.0))
        url, body = (
            (payout.queue_timeout_url, payout.timeout_body()) if payout.queue_timeout
            else (payout.result_url, payout.result_body())
        )
        record: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "url": url}
        try:
            response = await app.state.http.post(url, json=body)
            record["status_code"] = response.status_code
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("B2C result to %s failed: %s", url, exc)
        daraja.payouts.record_delivery(payout, record)

    @app.post("/mpesa/transactionstatus/v1/query")
    async def transaction_status(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            answer, url, result = daraja.payouts.status_query(await json_body(request), daraja.c2b.status_parameters)
        except DarajaError as exc:
            return daraja_error(exc)
        daraja.stats["status_queries"] += 1
        spawn(post_later(url, result))
        return JSONResponse(answer)

    async def post_later(url: str, body: dict[str, Any]) -> None:
        await asyncio.sleep(max(settings.callback_delay_seconds, 0.0))
        try:
            await app.state.http.post(url, json=body)
        except httpx.HTTPError as exc:
            log.warning("Transaction Status result to %s failed: %s", url, exc)

    @app.post("/mpesa/c2b/v1/registerurl")
    @app.post("/mpesa/c2b/v2/registerurl")
    async def c2b_register(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            answer = daraja.c2b.register(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        return JSONResponse(answer)

    @app.post("/mpesa/c2b/v1/simulate")
    @app.post("/mpesa/c2b/v2/simulate")
    async def c2b_simulate(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
        except DarajaError as exc:
            return daraja_error(exc)
        return await pay_c2b(request)

    async def pay_c2b(request: Request) -> JSONResponse:
        """C2B simulate's work (after its token check): the customer pays; validation and confirmation follow."""
        try:
            payment, answer = daraja.c2b.simulate(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        spawn(settle_c2b(payment))
        return JSONResponse(answer)

    async def settle_c2b(payment: C2BPayment) -> None:
        """After the delay: ask the ValidationURL (if on), complete or reject, POST the confirmation once."""
        await asyncio.sleep(max(settings.callback_delay_seconds, 0.0))
        if payment.validates:
            url = payment.registration.validation_url
            record: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "url": url}
            try:
                response = await app.state.http.post(url, json=payment.body(validation=True),
                                                     timeout=settings.c2b_validation_timeout_seconds)
                record["status_code"] = response.status_code
                if response.is_success:
                    record["answer"] = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"
                log.warning("C2B validation at %s failed: %s", url, exc)
            if not daraja.c2b.validated(payment, record):
                return
        daraja.c2b.complete(payment)
        if not payment.confirmation_lost:
            await deliver_confirmation(payment)

    async def deliver_confirmation(payment: C2BPayment) -> dict[str, Any]:
        url = payment.registration.confirmation_url
        record: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "url": url}
        try:
            response = await app.state.http.post(url, json=payment.body(validation=False))
            record["status_code"] = response.status_code
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("C2B confirmation to %s failed: %s", url, exc)
        daraja.c2b.record_delivery(payment, record)
        return record

    @app.post("/pulltransactions/v1/register")
    async def pull_register(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            answer = daraja.pull.register(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        return JSONResponse(answer)

    @app.api_route("/pulltransactions/v1/query", methods=["POST", "GET"])  # GET with a JSON body, as documented once
    async def pull_query(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            answer = daraja.pull.query(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        return JSONResponse(answer)

    @app.post("/mpesa/stkpushquery/v1/query")
    async def stk_push_query(request: Request) -> JSONResponse:
        try:
            daraja.check_token(request.headers.get("authorization"))
            answer = daraja.stk_query(await json_body(request))
        except DarajaError as exc:
            return daraja_error(exc)
        return JSONResponse(answer)

    # --- admin paths for tests and developers (not Daraja's) ------------------------------------
    @app.get("/simulator/transactions")
    async def list_transactions() -> dict[str, Any]:
        return {"transactions": [t.to_dict() for t in daraja.all()]}

    @app.get("/simulator/transactions/{checkout_request_id}")
    async def show_transaction(checkout_request_id: str) -> JSONResponse:
        transaction = daraja.get(checkout_request_id)
        if transaction is None:
            return JSONResponse({"message": "Unknown CheckoutRequestID"}, status_code=404)
        return JSONResponse(transaction.to_dict())

    @app.post("/simulator/callbacks/{checkout_request_id}/resend")
    async def resend_callback(checkout_request_id: str) -> JSONResponse:
        """Deliver the callback (again) now, even for a 0000 phone; 409 while the payer has not answered."""
        transaction = daraja.get(checkout_request_id)
        if transaction is None:
            return JSONResponse({"message": "Unknown CheckoutRequestID"}, status_code=404)
        if not transaction.is_settled():
            return JSONResponse({"message": "The transaction is still being processed"}, status_code=409)
        return JSONResponse(await deliver(transaction))

    @app.post("/simulator/phones/{phone}/processing")
    async def hold_phone(phone: str) -> JSONResponse:
        """Fault knob: pushes to this phone stay "being processed" (no callback) until released."""
        number = phone_of(phone)
        if number is None:
            return JSONResponse({"message": "Not a phone number (2547XXXXXXXX)"}, status_code=400)
        daraja.hold_phone(number)
        return JSONResponse({"phone": number, "processing": True})

    @app.post("/simulator/phones/{phone}/release")
    async def release_phone(phone: str, request: Request) -> JSONResponse:
        """Settle the phone's held pushes now (body `{"ResultCode": n}`, default by its last four digits), no
        callback; later pushes behave as usual."""
        number = phone_of(phone)
        if number is None:
            return JSONResponse({"message": "Not a phone number (2547XXXXXXXX)"}, status_code=400)
        raw = await request.body()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            return JSONResponse({"message": "The body must be JSON"}, status_code=400)
        code = body.get("ResultCode") if isinstance(body, dict) else None
        if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
            return JSONResponse({"message": "ResultCode must be a number"}, status_code=400)
        return JSONResponse({"phone": number, "settled": daraja.release_phone(number, code)})

    @app.get("/simulator/payouts")
    async def list_payouts() -> dict[str, Any]:
        return {"payouts": [p.to_dict() for p in daraja.payouts.all()], "paid_total": daraja.payouts.paid_total}

    @app.get("/simulator/c2b")
    async def list_c2b() -> dict[str, Any]:
        return daraja.c2b.to_dict()

    @app.get("/simulator/pull")
    async def list_pull() -> dict[str, Any]:
        return daraja.pull.to_dict()

    @app.post("/simulator/c2b/pay")
    async def c2b_pay(request: Request) -> JSONResponse:
        """A customer pays (the body of C2B simulate, no token needed): for browser tests and demos."""
        return await pay_c2b(request)

    @app.post("/simulator/c2b/{trans_id}/resend")
    async def resend_confirmation(trans_id: str) -> JSONResponse:
        """POST the confirmation (again) now, even for a 0000 phone, as Safaricom sometimes repeats it."""
        payment = daraja.c2b.get(trans_id)
        if payment is None:
            return JSONResponse({"message": "Unknown TransID"}, status_code=404)
        if payment.status != COMPLETED:
            return JSONResponse({"message": f"The payment is {payment.status}, not completed"}, status_code=409)
        return JSONResponse(await deliver_confirmation(payment))

    @app.post("/simulator/tokens/revoke")
    async def revoke_tokens() -> dict[str, int]:
        """Invalidate every access token, as a token fetched elsewhere with the same key would."""
        return {"revoked": daraja.revoke_tokens()}

    @app.get("/simulator/stats")
    async def stats() -> dict[str, int]:
        return {**daraja.stats, **daraja.c2b.stats, **daraja.pull.stats}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
