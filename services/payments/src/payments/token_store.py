"""The Daraja OAuth token, shared by every payments replica through the payments database.

Safaricom invalidates an app's token the moment another is issued, so replicas that each fetched their
own would keep refusing each other's. One row holds the current token. A replica that needs a new one takes
a short lease on the row (commits it), fetches with no transaction or lock open, and writes the token back;
the others see the lease and wait for that token instead of fetching their own.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from payments.daraja import TokenFetch
from payments.providers import ProviderUnavailable


class DatabaseTokenStore:
    """One provider's token in its single-row table (`daraja_token`, `pesapal_token`)."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        lease_seconds: float = 15.0,
        table: str = "daraja_token",
        provider: str = "M-PESA",
    ) -> None:
        self._session_factory = session_factory
        self._lease = lease_seconds
        self._table = table  # a constant of ours, never input
        self._provider = provider

    def obtain(self, fetch: TokenFetch, *, stale: str | None, margin: float) -> tuple[str, float]:
        deadline = time.monotonic() + self._lease + 5
        while True:
            with self._session_factory() as session:
                session.execute(text(f"INSERT INTO {self._table} (id) VALUES (1) ON CONFLICT DO NOTHING"))
                row = session.execute(
                    text(f"SELECT access_token, good_until, fetching_until FROM {self._table} WHERE id = 1 FOR UPDATE")
                ).one()
                now = datetime.now(UTC)
                if row.access_token and row.access_token != stale and row.good_until and row.good_until > now:
                    session.commit()
                    return row.access_token, row.good_until.timestamp()
                leased = row.fetching_until is not None and row.fetching_until > now
                if not leased:
                    session.execute(
                        text(f"UPDATE {self._table} SET fetching_until = :until WHERE id = 1"),
                        {"until": now + timedelta(seconds=self._lease)},
                    )
                session.commit()
            if not leased:
                return self._fetch_and_share(fetch, margin)
            if time.monotonic() > deadline:
                raise ProviderUnavailable(f"{self._provider} is unavailable, please retry")
            time.sleep(0.05)  # another replica is fetching: wait for its token

    def _fetch_and_share(self, fetch: TokenFetch, margin: float) -> tuple[str, float]:
        try:
            token, expires_in = fetch()  # no transaction open
        except BaseException:
            with self._session_factory() as session:
                session.execute(text(f"UPDATE {self._table} SET fetching_until = NULL WHERE id = 1"))
                session.commit()
            raise
        good_until = datetime.now(UTC) + timedelta(seconds=expires_in - min(margin, expires_in / 2))
        with self._session_factory() as session:
            session.execute(
                text(
                    f"UPDATE {self._table} SET access_token = :token, good_until = :until, fetched_at = now(), "
                    "fetching_until = NULL WHERE id = 1"
                ),
                {"token": token, "until": good_until},
            )
            session.commit()
        return token, good_until.timestamp()
