"""free_port: below the kernel's ephemeral range (where any outgoing connection may take a port found free), each
pytest-xdist worker of a run in a share of its own (and `./jesh up` or a benchmark in a part below them), never a port
that is bound or was handed out before."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from jeshstack import procs


def ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_the_workers_of_a_run_share_the_ports_below_the_ephemeral_range_above_a_stack_started_by_hand(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "3")
    shares = []
    for worker in ("gw0", "gw1", "gw2"):
        monkeypatch.setenv("PYTEST_XDIST_WORKER", worker)
        shares.append(procs.port_range())
    assert all(len(share) >= 1000 for share in shares), shares
    assert shares[0].stop <= shares[1].start and shares[1].stop <= shares[2].start, shares  # disjoint, in order
    assert shares[2].stop <= ephemeral_low(), shares

    monkeypatch.delenv("PYTEST_VERSION")  # what no pytest runs (./jesh up, a benchmark) looks below every share
    outside = procs.port_range()
    assert len(outside) >= 1000 and outside.stop <= shares[0].start, (outside, shares)
    monkeypatch.setenv("PYTEST_VERSION", "9")

    monkeypatch.setattr(procs, "_GIVEN_PORTS", set())
    monkeypatch.setenv("PYTEST_XDIST_WORKER", "gw1")
    ports = {procs.free_port() for _ in range(20)}
    assert len(ports) == 20 and all(port in shares[1] for port in ports), ports


def test_a_bound_port_or_one_handed_out_is_never_given(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        spare = probe.getsockname()[1]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        monkeypatch.setattr(procs, "port_range", lambda: [taken.getsockname()[1], spare])
        monkeypatch.setattr(procs, "_GIVEN_PORTS", set())
        assert procs.free_port() == spare
        with pytest.raises(RuntimeError, match="no free loopback port"):
            procs.free_port()  # one bound, the other handed out already
