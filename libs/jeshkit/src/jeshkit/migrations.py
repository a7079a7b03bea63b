"""DDL for the messaging tables every service database has (outbox, inbox, dead_letter).

A service's first Alembic revision calls `create_messaging_tables()`; tests may call it directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlalchemy import MetaData

# W3C traceparent of the span that staged the event (jeshkit.tracing); databases made before it get it here.
OUTBOX_TRACE_CONTEXT = "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent text"
# The relay's sweep claims rows for a while (jeshkit.relay) instead of holding their row locks while it publishes;
# databases made before it get the column here.
OUTBOX_CLAIMS = "ALTER TABLE outbox ADD COLUMN IF NOT EXISTS claimed_until timestamptz"

MESSAGING_DDL = [
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        version integer NOT NULL,
        subject text NOT NULL,
        payload jsonb NOT NULL,
        request_id text,
        traceparent text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        sent_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
    )
    """,
    OUTBOX_TRACE_CONTEXT,
    OUTBOX_CLAIMS,
    "CREATE INDEX IF NOT EXISTS ix_outbox_unsent ON outbox (created_at, id) WHERE sent_at IS NULL",
    """
    CREATE TABLE IF NOT EXISTS inbox (
        consumer text NOT NULL,
        event_id uuid NOT NULL,
        processed_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT pk_inbox PRIMARY KEY (consumer, event_id)
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS dead_letter (
        id bigserial PRIMARY KEY,
        consumer text NOT NULL,
        event_id uuid,
        subject text NOT NULL,
        payload text NOT NULL,
        error text NOT NULL,
        deliveries integer NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
    )
    """,
]

DROP_MESSAGING_DDL = [
    "DROP TABLE IF EXISTS dead_letter",
    "DROP TABLE IF EXISTS inbox",
    "DROP TABLE IF EXISTS outbox",
    "DROP FUNCTION IF EXISTS outbox_notify()",
]


def create_messaging_tables() -> None:
    """Run inside an Alembic migration."""
    from alembic import op

    for statement in MESSAGING_DDL:
        op.execute(statement)


def drop_messaging_tables() -> None:
    from alembic import op

    for statement in DROP_MESSAGING_DDL:
        op.execute(statement)


def add_outbox_trace_context() -> None:
    """Run inside an Alembic migration: the outbox of a database made before tracing gets its traceparent column."""
    from alembic import op

    op.execute(OUTBOX_TRACE_CONTEXT)


def drop_outbox_trace_context() -> None:
    from alembic import op

    op.execute("ALTER TABLE outbox DROP COLUMN IF EXISTS traceparent")


def add_outbox_claims() -> None:
    """Run inside an Alembic migration: the outbox gets the sweep's claim (OUTBOX_CLAIMS)."""
    from alembic import op

    op.execute(OUTBOX_CLAIMS)


def drop_outbox_claims() -> None:
    from alembic import op

    op.execute("ALTER TABLE outbox DROP COLUMN IF EXISTS claimed_until")


# Databases made while the relay was woken by a NOTIFY from a trigger on the outbox lose it: the process that commits
# publishes its rows itself (jeshkit.outbox). A NOTIFY also serialised every committing transaction that staged an
# event, cluster-wide, behind one lock held until its commit was flushed.
DROP_OUTBOX_NOTIFY = ["DROP TRIGGER IF EXISTS outbox_notify ON outbox", "DROP FUNCTION IF EXISTS outbox_notify()"]
OUTBOX_NOTIFY = [
    """
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('jesh_outbox', '');
        RETURN NULL;
    END $$
    """,
    "CREATE OR REPLACE TRIGGER outbox_notify AFTER INSERT ON outbox "
    "FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify()",
]


def drop_outbox_notify() -> None:
    """Run inside an Alembic migration (see DROP_OUTBOX_NOTIFY)."""
    from alembic import op

    for statement in DROP_OUTBOX_NOTIFY:
        op.execute(statement)


def restore_outbox_notify() -> None:
    from alembic import op

    for statement in OUTBOX_NOTIFY:
        op.execute(statement)


def run_migrations_online(target_metadata: MetaData, default_url: str) -> None:
    """The body of every service's migrations/env.py.

    The URL comes from the caller (`sqlalchemy.url` in the Alembic config) or the service's settings.
    An advisory lock makes replicas that start together migrate one after the other.
    """
    from alembic import context
    from sqlalchemy import create_engine, text

    url = context.config.get_main_option("sqlalchemy.url") or default_url
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(hashtext('jesh-alembic'))"))
            connection.commit()
            try:
                context.configure(connection=connection, target_metadata=target_metadata)
                with context.begin_transaction():
                    context.run_migrations()
                connection.commit()
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(hashtext('jesh-alembic'))"))
                connection.commit()
    finally:
        engine.dispose()
