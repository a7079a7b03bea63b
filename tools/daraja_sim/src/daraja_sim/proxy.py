"""A delaying proxy for fault tests: forwards everything to Daraja (or the simulator), and holds the answers of
chosen paths for a while after Daraja produced them: "Daraja accepted, but answered too late".

    app = delaying_proxy("http://127.0.0.1:8010", {"/mpesa/stkpush/v1/processrequest": 5.0})
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request, Response

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}


def delaying_proxy(target: str, delays: dict[str, float]) -> FastAPI:
    """`delays` maps a path to the seconds its answer is held (changeable while running: app.state.delays)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(base_url=target.rstrip("/"), timeout=60)
        try:
            yield
        finally:
            await app.state.http.aclose()

    app = FastAPI(lifespan=lifespan)
    app.state.delays = dict(delays)
    app.state.forwarded = []

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def forward(path: str, request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        answer = await app.state.http.request(
            request.method, "/" + path, params=request.query_params, content=await request.body(), headers=headers
        )
        app.state.forwarded.append("/" + path)
        delay = app.state.delays.get("/" + path, 0.0)
        if delay:
            await asyncio.sleep(delay)  # Daraja has acted; its answer arrives late
        out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        return Response(answer.content, status_code=answer.status_code, headers=out)

    return app
