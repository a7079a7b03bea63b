"""fetch_on_miss: a local copy of another service's fact, fetched with no transaction open across the call."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel
from sqlalchemy import Engine, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from jeshkit.db import make_engine, make_session_factory
from jeshkit.errors import UpstreamUnavailable
from jeshkit.peers import Peer, fetch_on_miss
from jeshstack.procs import Postgres


class Fact(BaseModel):
    id: int
    value: str


class Base(DeclarativeBase):
    pass


class FactRow(Base):
    __tablename__ = "facts"
    id: Mapped[int] = mapped_column(primary_key=True)
    value: Mapped[str]


@pytest.fixture
def facts_db(jesh_postgres: Postgres) -> Iterator[Engine]:
    engine = make_engine(jesh_postgres.ensure_database("kit_peers_test"))
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS facts"))
        conn.execute(text("CREATE TABLE facts (id integer PRIMARY KEY, value text NOT NULL)"))
        conn.execute(text("INSERT INTO facts VALUES (1, 'known')"))
    yield engine
    engine.dispose()


def open_transactions(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND state LIKE 'idle in transaction%' AND pid <> pg_backend_pid()"
        )).scalar_one())


def lookup(session: Session, fact_id: int) -> Any:
    return session.execute(text("SELECT id, value FROM facts WHERE id = :id FOR UPDATE"), {"id": fact_id}).first()


def save(session: Session) -> Any:
    def write(fact: Fact) -> None:
        session.execute(text("INSERT INTO facts VALUES (:id, :value)"), fact.model_dump())
    return write


def test_a_miss_asks_the_peer_with_no_transaction_open_then_keeps_the_answer(facts_db: Engine) -> None:
    seen_open: list[int] = []

    def fetch() -> Fact:
        seen_open.append(open_transactions(facts_db))
        return Fact(id=2, value="fetched")

    with make_session_factory(facts_db)() as session:
        session.execute(text("SELECT 1"))  # the use case has already read something: a transaction is open
        row = fetch_on_miss(session, load=lambda: lookup(session, 2), fetch=fetch, save=save(session))
        assert tuple(row) == (2, "fetched")
        assert session.in_transaction()  # loaded (and locked) again in a new transaction
    assert seen_open == [0]
    with facts_db.connect() as conn:  # committed: kept whatever becomes of the request
        assert conn.execute(text("SELECT value FROM facts WHERE id = 2")).scalar_one() == "fetched"


def test_a_hit_never_asks_and_an_unknown_fact_is_none(facts_db: Engine) -> None:
    def never() -> Fact:
        raise AssertionError("the peer must not be asked")

    with make_session_factory(facts_db)() as session:
        assert tuple(fetch_on_miss(session, load=lambda: lookup(session, 1), fetch=never, save=save(session))) == (
            1, "known")
        assert fetch_on_miss(session, load=lambda: lookup(session, 3), fetch=lambda: None, save=save(session)) is None


def test_a_pending_change_is_refused_rather_than_lost(facts_db: Engine) -> None:
    with make_session_factory(facts_db)() as session:
        session.add(FactRow(id=9, value="pending"))
        with pytest.raises(RuntimeError, match="before the use case changes anything"):
            fetch_on_miss(session, load=lambda: None, fetch=lambda: None, save=save(session))


def test_a_peer_answer_that_does_not_fit_is_a_503_not_a_500() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/404"):
            return httpx.Response(404, json={"success": False, "message": "Not found"})
        return httpx.Response(200, json={"data": {"id": "not a number"}})

    peer = Peer("facts", "http://facts.internal/", httpx.Client(transport=httpx.MockTransport(answer)))
    assert peer.get_as("/internal/facts/404", Fact) is None
    with pytest.raises(UpstreamUnavailable) as caught:
        peer.get_as("/internal/facts/1", Fact)
    assert caught.value.status_code == 503 and "facts service" in caught.value.message
    # A 200 that is not JSON at all (a proxy's page): before, a JSONDecodeError, a 500.
    page = Peer("facts", "http://facts.internal/", httpx.Client(transport=httpx.MockTransport(
        lambda request: httpx.Response(200, text="<html>gateway page</html>")
    )))
    with pytest.raises(UpstreamUnavailable) as caught:
        page.get_as("/internal/facts/1", Fact)
    assert caught.value.status_code == 503
