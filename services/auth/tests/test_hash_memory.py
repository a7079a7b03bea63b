"""A password hash's 19 MiB goes back to the system when it is done, whichever request thread hashed: RSS does not
grow by a hash's memory for every thread that ever hashed (glibc's per-thread malloc arenas kept it)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# A process of its own: a fresh allocator, the settings' Argon2 parameters, eight threads alive together (each
# with its own arena, as the request threads of a busy auth are), hashing one after the other.
SCENARIO = textwrap.dedent("""
    import threading

    from auth.passwords import Passwords
    from auth.settings import Settings

    def rss_mib():
        for line in open("/proc/self/status"):
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024

    settings = Settings.model_construct()
    passwords = Passwords(memory_kib=settings.password_hash_memory_kib, time_cost=settings.password_hash_time_cost,
                          parallelism=settings.password_hash_parallelism)
    before = rss_mib()
    together = threading.Barrier(8)
    one_at_a_time = threading.Lock()

    def request_thread():
        together.wait()
        with one_at_a_time:
            passwords.hash("correct horse battery staple")
        together.wait()

    threads = [threading.Thread(target=request_thread) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(rss_mib() - before)
""")


def test_hashing_in_eight_request_threads_keeps_no_hash_memory():
    done = subprocess.run([sys.executable, "-c", SCENARIO], capture_output=True, text=True, timeout=120, check=True)
    growth = float(done.stdout.strip().splitlines()[-1])
    assert growth < 19, f"RSS grew {growth:.0f} MiB: hash memory kept (19 MiB a hash)"
