"""Root conftest: the shared fixtures (real PostgreSQL, NATS, Traefik) for every test folder."""

pytest_plugins = ["jeshstack.pytest_plugin"]
