"""What every deployment check shares: the one list of services (deploy/services.yml) and safe dummy values."""

from __future__ import annotations

import hashlib
import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICES_FILE = REPO / "deploy" / "services.yml"
SERVICE_PORT = 8000
# Environment variable names that hold secrets.
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PASSKEY|(^|_)KEY$|SIGNING_KEY|PRIVATE")


@cache
def service_specs(path: Path = SERVICES_FILE) -> dict[str, dict[str, Any]]:
    """deploy/services.yml: name -> {calls, secrets, optional_secrets, settings, internet}, with every key present
    (internet: the outside TCP ports it may open; `true` means HTTPS only)."""
    raw = (yaml.safe_load(path.read_text()) or {}).get("services") or {}
    return {
        name: {
            "calls": dict((spec or {}).get("calls") or {}),
            "secrets": list((spec or {}).get("secrets") or []),
            "optional_secrets": list((spec or {}).get("optional_secrets") or []),
            "settings": list((spec or {}).get("settings") or []),
            "internet": _ports((spec or {}).get("internet", False), (spec or {}).get("internet_ports")),
        }
        for name, spec in raw.items()
    }


def _ports(value: Any, ports: Any = None) -> list[int]:
    """`internet: true` (HTTPS), `internet: [443, 587]`, or `internet: true` with `internet_ports: [...]`."""
    if isinstance(value, list):
        return [int(port) for port in value]
    if value is True:
        return [int(port) for port in ports] if isinstance(ports, list) and ports else [443]
    return []


SERVICES: tuple[str, ...] = tuple(service_specs())


def dummy_value(name: str) -> str:
    """A plausible, non-development value for a required variable (never a real secret)."""
    if name.endswith(("_EMAIL", "_EMAIL_TO", "_EMAIL_FROM")):
        return "operations@example.com"
    if name.endswith("_SMARTHOST"):
        return "smtp.example.com:587"
    if name.endswith("_URL"):
        return "https://storage.example.com"
    if "SIGNING_KEY" in name or "PRIVATE_KEY" in name:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

        return Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
    if name.endswith("_PHONE"):
        return "0711 000 000"
    if name.endswith("SHORTCODE"):
        return "174379"
    # hex: no word a validator might refuse (Safaricom's callback URL check refuses "mpesa", "sql"...)
    return "d" + hashlib.sha256(name.encode()).hexdigest()[:31]
