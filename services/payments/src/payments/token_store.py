"""The Daraja OAuth token, shared by every payments replica through the payments database.

Safaricom invalidates an app's token the moment another is issued, so replicas that each fetched their
own would keep refusing each other's. One row holds the current token; a replica that needs one locks the
row (SELECT ... FOR UPDATE), takes the token there if it is still good and not the one Daraja just
refused, and otherwise fetches a new one while holding the lock, so that only one replica fetches at a time.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from payments.daraja import TokenFetch


class DatabaseTokenStore:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._session_factory = session_factory

    def obtain(self, fetch: TokenFetch, *, stale: str | None, margin: float) -> tuple[str, float]:
        with self._session_factory() as session:
            session.execute(text("INSERT INTO daraja_token (id) VALUES (1) ON CONFLICT DO NOTHING"))
            row = session.execute(
                text("SELECT access_token, good_until FROM daraja_token WHERE id = 1 FOR UPDATE")
            ).one()
            now = datetime.now(UTC)
            if row.access_token and row.access_token != stale and row.good_until and row.good_until > now:
                session.commit()
                return row.access_token, row.good_until.timestamp()
            token, expires_in = fetch()  # under the row lock: the other replicas wait for this token
            good_until = now + timedelta(seconds=expires_in - min(margin, expires_in / 2))
            session.execute(
                text("UPDATE daraja_token SET access_token = :token, good_until = :until, fetched_at = now() "
                     "WHERE id = 1"),
                {"token": token, "until": good_until},
            )
            session.commit()
            return token, good_until.timestamp()
