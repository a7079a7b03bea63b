"""A service's start-up heap is frozen out of the cyclic garbage collector once it has started."""

from __future__ import annotations

import gc

from fastapi.testclient import TestClient

from jeshkit.app import create_service_app
from jeshkit.settings import ServiceSettings
from jeshstack.procs import Postgres, free_port


def test_a_started_service_has_frozen_its_start_up_heap(jesh_postgres: Postgres) -> None:
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    settings = ServiceSettings(service_name="kit-test", database_url=jesh_postgres.url(),
                               nats_url=f"nats://127.0.0.1:{free_port()}")  # nobody there: it keeps trying
    app = create_service_app(settings, title="kit test", routers=[])
    try:
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            # Everything alive at start-up (the app, its modules' objects, the engine) is in the permanent generation.
            assert gc.get_freeze_count() > 10_000
            assert not any(o is app for o in gc.get_objects())  # the collector no longer traverses the app
            frozen = gc.get_freeze_count()
        # Another app started in the same process (as tests do) freezes nothing more.
        with TestClient(create_service_app(settings, title="kit test 2", routers=[])):
            assert gc.get_freeze_count() <= frozen  # (frozen objects still die by reference counting)
    finally:
        gc.unfreeze()
