"""The simulator's HTTP face: Pesapal API 3.0's paths and wire format, the payment page at redirect_url, the IPNs
it sends, plus a few /simulator/* admin paths.

Run it:  uvicorn pesapal_sim.app:create_app --factory --host 127.0.0.1 --port 8011
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from pesapal_sim.pesapal import Order, Pesapal, PesapalError
from pesapal_sim.settings import SimSettings

log = logging.getLogger("pesapal_sim")

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Pesapal (simulator)</title></head><body>
<h1>Pay {amount} {currency}</h1><p>{description}</p>
<form method="post"><label>Card number <input name="card_number" autocomplete="off"></label>
<button type="submit">Pay</button></form>
<form method="post"><label>Airtel Money phone <input name="phone_number"></label>
<button type="submit">Pay with Airtel Money</button></form>
<p>Test cards: 4111111111111111 pays, 4000000000000002 is declined.</p></body></html>"""


def create_app(settings: SimSettings | None = None, *, pesapal: Pesapal | None = None) -> FastAPI:
    """Build the simulator. Pass `pesapal` to keep its state across a restart (tests)."""
    settings = settings or SimSettings()
    pesapal = pesapal or Pesapal(settings)
    background: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(timeout=settings.ipn_timeout_seconds)
        try:
            yield
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            await app.state.http.aclose()

    app = FastAPI(title="Pesapal API 3.0 simulator", version="1.0.0", lifespan=lifespan, redirect_slashes=False)
    app.state.pesapal = pesapal

    def later(work: Awaitable[None]) -> None:
        task = asyncio.ensure_future(work)
        background.add(task)
        task.add_done_callback(background.discard)

    async def send_ipn(order: Order, delay: float = 0.0) -> dict[str, Any]:
        """Call the order's IPN URL once, by the method it was registered with; the acknowledgement is kept."""
        await asyncio.sleep(max(delay, 0.0))
        record: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "method": order.ipn.method}
        params = order.notification("IPNCHANGE")
        try:
            if order.ipn.method == "GET":
                response = await app.state.http.get(order.ipn.url, params=params)
            else:
                response = await app.state.http.post(order.ipn.url, json=params)
            record["status_code"] = response.status_code
            try:
                record["answer"] = response.json()
            except ValueError:
                record["answer"] = response.text[:500]
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            log.warning("IPN to %s failed: %s", order.ipn.url, exc)
        pesapal.record_delivery(order, record)
        return record

    async def reverse_after_refund(order: Order) -> None:
        await asyncio.sleep(max(settings.refund_delay_seconds, 0.0))
        pesapal.reverse(order, "Refund processed")
        await send_ipn(order)

    def error(exc: PesapalError) -> JSONResponse:
        return JSONResponse(exc.body(), status_code=exc.http_status)

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body())
        except ValueError:
            raise PesapalError("invalid_request", "The request body must be JSON") from None

    # --- Pesapal's own paths ---------------------------------------------------------------------
    @app.post("/api/Auth/RequestToken")
    async def request_token(request: Request) -> JSONResponse:
        try:
            return JSONResponse(pesapal.issue_token(await json_body(request)))
        except PesapalError as exc:
            return error(exc)

    @app.post("/api/URLSetup/RegisterIPN")
    async def register_ipn(request: Request) -> JSONResponse:
        try:
            pesapal.check_token(request.headers.get("authorization"))
            return JSONResponse(pesapal.register_ipn(await json_body(request)))
        except PesapalError as exc:
            return error(exc)

    @app.get("/api/URLSetup/GetIpnList")
    async def ipn_list(request: Request) -> JSONResponse:
        try:
            pesapal.check_token(request.headers.get("authorization"))
        except PesapalError as exc:
            return error(exc)
        return JSONResponse(pesapal.ipn_list())

    @app.post("/api/Transactions/SubmitOrderRequest")
    async def submit_order(request: Request) -> JSONResponse:
        try:
            pesapal.check_token(request.headers.get("authorization"))
            order = pesapal.submit_order(await json_body(request))
        except PesapalError as exc:
            return error(exc)
        return JSONResponse({
            "order_tracking_id": order.order_tracking_id,
            "merchant_reference": order.merchant_reference,
            "redirect_url": str(request.base_url).rstrip("/") + order.redirect_path,
            "error": None,
            "status": "200",
        })

    @app.get("/api/Transactions/GetTransactionStatus")
    async def transaction_status(request: Request) -> JSONResponse:
        try:
            pesapal.check_token(request.headers.get("authorization"))
        except PesapalError as exc:
            return error(exc)
        return JSONResponse(pesapal.status(request.query_params.get("orderTrackingId")))

    @app.post("/api/Transactions/RefundRequest")
    async def refund_request(request: Request) -> JSONResponse:
        try:
            pesapal.check_token(request.headers.get("authorization"))
            order, lost = pesapal.request_refund(await json_body(request))
        except PesapalError as exc:
            return JSONResponse({"status": str(exc.http_status), "message": exc.message},
                                status_code=200 if exc.http_status == 500 else exc.http_status)
        later(reverse_after_refund(order))
        if lost:  # taken, but the merchant never learns it: a gateway's error page comes back instead
            return HTMLResponse("<html><body><h1>502 Bad Gateway</h1></body></html>", status_code=502)
        return JSONResponse({"status": "200", "message": "Refund request successfully"})

    # --- the payment page at redirect_url --------------------------------------------------------
    @app.get("/pesapaliframe/PesapalIframe3/Index/")
    async def payment_page(request: Request) -> Response:
        order = pesapal.get(request.query_params.get("OrderTrackingId"))
        if order is None:
            return HTMLResponse("<p>Unknown order</p>", status_code=404)
        return HTMLResponse(PAGE.format(amount=order.amount, currency=html.escape(order.currency),
                                        description=html.escape(order.description)))

    @app.post("/pesapaliframe/PesapalIframe3/Index/")
    async def pay(request: Request) -> Response:
        """The payer's form: `card_number` (4111111111111111 pays, 4000000000000002 is declined) or
        `phone_number` (Airtel Money; ending in 0002 fails). The IPN follows (unless `send_ipn=0`, a simulator
        extension), and the browser is sent back to callback_url with 303."""
        order = pesapal.get(request.query_params.get("OrderTrackingId"))
        if order is None:
            return HTMLResponse("<p>Unknown order</p>", status_code=404)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if not form.get("card_number") and not form.get("phone_number"):
            return HTMLResponse("<p>Enter a card number or a phone number</p>", status_code=400)
        try:
            pesapal.pay(order, card_number=form.get("card_number"), phone_number=form.get("phone_number"))
        except PesapalError as exc:
            return HTMLResponse(f"<p>{html.escape(exc.message)}</p>", status_code=exc.http_status)
        if form.get("send_ipn", "1") != "0":
            later(send_ipn(order, settings.ipn_delay_seconds))
        return RedirectResponse(order.return_url(), status_code=303)

    # --- admin paths for tests and developers (not Pesapal's) ------------------------------------
    @app.get("/simulator/orders")
    async def list_orders() -> dict[str, Any]:
        return {"orders": [o.to_dict() for o in pesapal.all()]}

    @app.get("/simulator/orders/{order_tracking_id}")
    async def show_order(order_tracking_id: str) -> JSONResponse:
        order = pesapal.get(order_tracking_id)
        if order is None:
            return JSONResponse({"message": "Unknown OrderTrackingId"}, status_code=404)
        return JSONResponse(order.to_dict())

    @app.post("/simulator/orders/{order_tracking_id}/ipn")
    async def resend_ipn(order_tracking_id: str) -> JSONResponse:
        """Send the order's IPN (again) now, whatever its state."""
        order = pesapal.get(order_tracking_id)
        if order is None:
            return JSONResponse({"message": "Unknown OrderTrackingId"}, status_code=404)
        return JSONResponse(await send_ipn(order))

    @app.post("/simulator/orders/{order_tracking_id}/reverse")
    async def chargeback(order_tracking_id: str) -> JSONResponse:
        """Reverse a payment (a chargeback nobody asked for) and send its IPN."""
        order = pesapal.get(order_tracking_id)
        if order is None:
            return JSONResponse({"message": "Unknown OrderTrackingId"}, status_code=404)
        pesapal.reverse(order, "Chargeback")
        return JSONResponse(await send_ipn(order))

    @app.post("/simulator/refunds/lose-answers")
    async def lose_refund_answers(count: int = 1) -> dict[str, int]:
        """The next `count` accepted RefundRequests are taken but answered by a gateway's 502 page."""
        pesapal.lose_refund_answers = max(count, 0)
        return {"lose_refund_answers": pesapal.lose_refund_answers}

    @app.post("/simulator/tokens/expire")
    async def expire_tokens() -> dict[str, int]:
        """Every access token issued so far stops working now, as after its 5 minutes."""
        return {"expired": pesapal.expire_tokens()}

    @app.get("/simulator/stats")
    async def stats() -> dict[str, int]:
        return dict(pesapal.stats)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
