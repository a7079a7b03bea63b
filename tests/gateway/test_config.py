"""The local stack's copy of gateway/traefik.yml, and the environment the dynamic files read."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from jeshstack.gateway import DYNAMIC_DIR, STATIC_CONFIG, traefik_env, write_traefik_config


def test_the_static_configuration_is_offline_with_ping_and_metrics_inside() -> None:
    config = yaml.safe_load(STATIC_CONFIG.read_text())
    assert config["global"] == {"checkNewVersion": False, "sendAnonymousUsage": False}
    assert config["entryPoints"]["web"]["address"] == ":5000"
    assert config["ping"]["entryPoint"] == "internal"
    assert config["metrics"]["prometheus"]["entryPoint"] == "internal"
    assert config["providers"]["file"]["directory"] == "/etc/traefik/dynamic"
    assert config["log"]["format"] == config["accessLog"]["format"] == "json"
    assert "api" not in config  # no dashboard
    # HTTPS: TLS on websecure for every router there, Let's Encrypt's certificate kept on a volume (dynamic/tls.yml)
    assert config["entryPoints"]["websecure"]["address"] == ":8443"
    assert config["entryPoints"]["websecure"]["http"]["tls"] == {}
    assert config["certificatesResolvers"]["letsencrypt"]["acme"] == {"storage": "/acme/acme.json", "tlsChallenge": {}}


def test_write_traefik_config_points_the_copy_at_loopback_the_repository_and_the_log_folder(tmp_path: Path) -> None:
    written = write_traefik_config(tmp_path / "state", web_port=5123, internal_port=5124, log_dir=tmp_path / "logs")
    assert written == tmp_path / "state" / "traefik.yml"
    config = yaml.safe_load(written.read_text())
    assert config["entryPoints"]["web"]["address"] == "127.0.0.1:5123"
    assert config["entryPoints"]["internal"]["address"] == "127.0.0.1:5124"
    assert Path(config["providers"]["file"]["directory"]) == DYNAMIC_DIR
    assert config["log"]["filePath"] == str((tmp_path / "logs" / "traefik.log").resolve())
    assert config["accessLog"]["filePath"] == str((tmp_path / "logs" / "traefik-access.log").resolve())
    # Everything else is the repository's file, unchanged.
    original = yaml.safe_load(STATIC_CONFIG.read_text())
    assert config["global"] == original["global"]
    assert config["entryPoints"]["web"]["forwardedHeaders"] == original["entryPoints"]["web"]["forwardedHeaders"]
    assert config["accessLog"]["fields"] == original["accessLog"]["fields"]
    assert "websecure" not in config["entryPoints"] and "certificatesResolvers" not in config  # no HTTPS unless asked


def test_the_local_https_entry_point_never_asks_lets_encrypt(tmp_path: Path) -> None:
    from jeshstack.gateway import OFFLINE_ACME_SERVER

    written = write_traefik_config(tmp_path / "state", web_port=5123, internal_port=5124, log_dir=tmp_path / "logs",
                                   secure_port=5125)
    config = yaml.safe_load(written.read_text())
    assert config["entryPoints"]["websecure"]["address"] == "127.0.0.1:5125"
    acme = config["certificatesResolvers"]["letsencrypt"]["acme"]
    assert acme["storage"] == str((tmp_path / "state" / "acme.json").resolve())
    assert acme["caServer"] == OFFLINE_ACME_SERVER and "127.0.0.1" in OFFLINE_ACME_SERVER


def test_traefik_env_lists_the_replicas_of_each_service() -> None:
    env = traefik_env(
        {"booking": ["http://127.0.0.1:8003/", " http://127.0.0.1:9003"], "auth": ["http://127.0.0.1:8001"]},
        {"JESH_RATE_LIMIT_AUTH_AVERAGE": "50", "JESH_BOOKING_URLS": "overridden by the replicas"},
    )
    assert env == {
        "JESH_BOOKING_URLS": "http://127.0.0.1:8003,http://127.0.0.1:9003",
        "JESH_AUTH_URLS": "http://127.0.0.1:8001",
        "JESH_RATE_LIMIT_AUTH_AVERAGE": "50",
    }
    with pytest.raises(ValueError, match="unknown services: warehouse"):
        traefik_env({"warehouse": ["http://127.0.0.1:1"]})
    with pytest.raises(ValueError, match="no URL for auth"):
        traefik_env({"auth": []})
