"""The benchmark's thinnest write: what one durable write costs through the fixed architecture with nothing else.

FastAPI under the same uvicorn as the services, a body validated by pydantic, a sync route (so a thread hop, as
every service's), SQLAlchemy Core on psycopg2 from the kit's engine (the same pool): one INSERT … RETURNING and its
COMMIT, a JSON answer. No token check, no peer facts, no outbox, no event, no consumer: a booking does all of
these besides, so the ratio this gets against the ceiling bounds what any booking endpoint can get on the machine.
The bench runs it behind the same Traefik and middlewares as /api (`FLOOR_DATABASE_URL` names its database).
"""

from __future__ import annotations

import os
from datetime import date

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from jeshkit.db import make_engine

_CREATE = text("CREATE TABLE IF NOT EXISTS writes (id bigserial PRIMARY KEY, unit_id int NOT NULL, "
               "start_date date NOT NULL, end_date date NOT NULL, created_at timestamptz NOT NULL DEFAULT now())")
_INSERT = text("INSERT INTO writes (unit_id, start_date, end_date) VALUES (:unit_id, :start_date, :end_date) "
               "RETURNING id")


class Write(BaseModel):
    unit_id: int
    start_date: date
    end_date: date


def create_app() -> FastAPI:
    """A factory, started by the same uvicorn command as the services."""
    engine = make_engine(os.environ["FLOOR_DATABASE_URL"])
    with engine.begin() as conn:
        conn.execute(_CREATE)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    @app.post("/bench/floor", status_code=201)
    def write(body: Write) -> JSONResponse:
        with engine.begin() as conn:
            new_id = conn.execute(_INSERT, body.model_dump()).scalar_one()
        return JSONResponse({"success": True, "data": {"id": new_id}}, status_code=201)

    return app
