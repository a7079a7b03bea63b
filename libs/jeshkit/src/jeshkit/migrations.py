"""DDL for the messaging tables every service database has (outbox, inbox, dead_letter).

A service's first Alembic revision calls `create_messaging_tables()`; tests may call it directly.
"""

from __future__ import annotations

MESSAGING_DDL = [
    """
    CREATE TABLE IF NOT EXISTS outbox (
        id uuid PRIMARY KEY,
        type text NOT NULL,
        version integer NOT NULL,
        subject text NOT NULL,
        payload jsonb NOT NULL,
        request_id text,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        sent_at timestamptz,
        attempts integer NOT NULL DEFAULT 0,
        last_error text
    )
    """,
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

DROP_MESSAGING_DDL = ["DROP TABLE IF EXISTS dead_letter", "DROP TABLE IF EXISTS inbox", "DROP TABLE IF EXISTS outbox"]


def create_messaging_tables() -> None:
    """Run inside an Alembic migration."""
    from alembic import op

    for statement in MESSAGING_DDL:
        op.execute(statement)


def drop_messaging_tables() -> None:
    from alembic import op

    for statement in DROP_MESSAGING_DDL:
        op.execute(statement)
