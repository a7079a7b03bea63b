"""Would a service's Settings class start in production with a given environment? (compose and Kubernetes)"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any


def env_names(field_name: str, field: Any) -> list[str]:
    """The environment variable(s) pydantic-settings reads for a field (no prefix, case-insensitive)."""
    from pydantic import AliasChoices, AliasPath

    alias = field.validation_alias or field.alias
    if isinstance(alias, str):
        return [alias.upper()]
    if isinstance(alias, AliasChoices):
        return [choice.upper() for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, AliasPath):
        return [str(alias.path[0]).upper()]
    return [field_name.upper()]


@contextmanager
def environment_for(cls: Any, values: Mapping[str, str]) -> Iterator[None]:
    """Inside the block, the variables `cls` reads are exactly those in `values` (as in the container)."""
    names = {name for field_name, field in cls.model_fields.items() for name in env_names(field_name, field)}
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.upper() in names:
            del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def settings_class(service: str) -> Any:
    return importlib.import_module(f"{service}.settings").Settings


def settings_problems(
    name: str, cls: Any, env: Mapping[str, str], secret_sourced: Iterable[str], *, source: str, secret_rule: str
) -> list[str]:
    """What keeps `cls` from starting in production with `env`, as the deployment `source` gives it.

    secret_sourced: the variables that come from a secret store (compose's ${VAR:?}, a Kubernetes Secret);
    every secret the Settings check must be one of them (secret_rule says how it should be given)."""
    from pydantic import ValidationError

    problems = []
    given = {key.upper() for key in env}
    sourced = {key.upper() for key in secret_sourced}
    if env.get("ENVIRONMENT") != "production":
        problems.append(f"{name}: ENVIRONMENT must be production")
    for field_name, field in cls.model_fields.items():
        names = env_names(field_name, field)
        if given.isdisjoint(names) and field.is_required():
            problems.append(f"{name}: its Settings require {names[0]}, which {source} does not provide")
        default = field.default if isinstance(field.default, str) else ""
        if given.isdisjoint(names) and re.search(r"//([^/@]*@)?(127\.0\.0\.1|localhost)\b", default):
            problems.append(f"{name}: {names[0]} defaults to {default!r}, which means the container itself")
    try:
        with environment_for(cls, env):
            settings = cls()
    except ValidationError as exc:
        reasons = "; ".join(error["msg"] for error in exc.errors())
        return [*problems, f"{name}: would refuse to start in production with the {source} environment: {reasons}"]
    for label in settings.secrets_to_check():
        candidates = re.findall(r"\b[A-Z][A-Z0-9_]{2,}\b", label) or [label.upper()]
        provided = [c for c in candidates if c in given]
        if not provided:
            problems.append(f"{name}: secret {label} is not provided")
        elif not any(c in sourced for c in provided):
            problems.append(f"{name}: secret {label} must come from {secret_rule}")
    return problems
