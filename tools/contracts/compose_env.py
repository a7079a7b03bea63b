"""Compose's variable interpolation, and what an operator's .env would hold (deploy/.env.example)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deployment import REPO, dummy_value

ENV_EXAMPLE = REPO / "deploy" / ".env.example"

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alt}; $$ is a literal $.
_REFERENCE = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
REQUIRED_REFERENCE = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*):?\?[^}]*\}$")


class MissingVariable(KeyError):
    pass


def interpolate(value: Any, variables: Mapping[str, str]) -> Any:
    """Compose's interpolation of every string in a loaded compose tree."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2) or "", match.group(3) or ""
        present = name in variables and (variables[name] != "" or not operator.startswith(":"))
        if operator.endswith("?") and not present:
            raise MissingVariable(f"{name}: {argument or 'required'}")
        if operator.endswith("-") and not present:
            return argument
        if operator.endswith("+"):
            return argument if present else ""
        return variables.get(name, "")

    return _REFERENCE.sub(replace, value)


def referenced_variables(tree: Any) -> dict[str, str]:
    """Every ${VAR} the tree uses -> 'required' (${VAR:?}), 'default' (${VAR:-x}) or 'plain'."""
    found: dict[str, str] = {}
    rank = {"plain": 0, "default": 1, "required": 2}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str):
            for match in _REFERENCE.finditer(value):
                name = match.group(1) or match.group(4)
                if not name:
                    continue
                operator = match.group(2) or ""
                kind = "required" if "?" in operator else "default" if operator else "plain"
                if rank[kind] > rank.get(found.get(name, ""), -1):
                    found[name] = kind

    walk(tree)
    return found


def env_example_values(path: Path = ENV_EXAMPLE, *, documented: bool = False) -> dict[str, str]:
    """NAME=value lines of the example env file; documented=True also counts commented-out '# NAME=value'."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    pattern = r"^\s*#?\s*([A-Z][A-Z0-9_]*)=(.*)$" if documented else r"^\s*([A-Z][A-Z0-9_]*)=(.*)$"
    for line in path.read_text().splitlines():
        match = re.match(pattern, line)
        if match:
            values.setdefault(match.group(1), match.group(2).strip().strip('"').strip("'"))
    return values


def deployment_variables(compose: Mapping[str, Any], example: Path = ENV_EXAMPLE) -> dict[str, str]:
    """What an operator's .env would hold: the example's values, dummies for required ones left blank."""
    examples = env_example_values(example)
    values = {}
    for name, kind in referenced_variables(compose).items():
        if kind == "required":
            values[name] = examples.get(name) or dummy_value(name)
    return values


