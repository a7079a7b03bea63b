"""Password hashing with Argon2id.

Parameters: OWASP's Password Storage Cheat Sheet minimum for Argon2id, m=19 MiB, t=2, p=1, rather than
argon2-cffi's default (RFC 9106 "low memory": m=64 MiB, t=3, p=4). Both are considered safe; OWASP's
costs a third of the memory per concurrent login (~30 ms on one core), which matters for a small service
that runs several replicas on two cores and must not be knocked over by a burst of logins. Each hash
records its own parameters, so raising them later is a setting change: hashes are upgraded at the next
successful login (`needs_rehash`).

Login of an unknown email verifies the password against a dummy hash made with the same parameters, so
that the answer takes the same time whether the account exists or not.

At most `MAX_CONCURRENT_HASHES` hashes run at once per process: each takes 19 MiB and a core for ~30 ms,
so a burst of logins queues briefly instead of multiplying the memory and starving the other requests.

Each hash's 19 MiB goes back to the system when it is done (`return_large_blocks`): glibc would otherwise keep it
in the malloc arena of the thread that hashed (once a block that size has been freed, glibc serves the next ones
from its arenas instead of mmap), one arena per request thread that ever hashed, up to 16 on two cores: RSS grew by
19 MiB per such thread and never came down (152 MB after 8 threads had hashed once each; 0 with it).
"""

from __future__ import annotations

import ctypes
import secrets
import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT_HASHES = 2
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h)
LARGE_BLOCK_BYTES = 1 << 20


def return_large_blocks() -> bool:
    """Have glibc serve every allocation of 1 MiB or more by mmap, and so give it back to the system when freed
    (a fixed threshold: glibc's own moves up to the largest block freed). False where libc is not glibc."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, LARGE_BLOCK_BYTES))
    except (OSError, AttributeError):  # not glibc (musl, macOS): its allocator decides
        return False


class Passwords:
    """Hashes and verifies passwords; one per process (its dummy hash costs one hash at start-up)."""

    def __init__(self, *, memory_kib: int, time_cost: int, parallelism: int) -> None:
        return_large_blocks()
        self._hasher = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism, type=Type.ID
        )
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))
        self._slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)

    def hash(self, password: str) -> str:
        with self._slots:
            return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; with no hash (unknown account) it spends the same time and says no."""
        try:
            with self._slots:
                matches = self._hasher.verify(password_hash or self._dummy_hash, password)
            return matches and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)
