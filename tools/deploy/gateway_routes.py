"""Which service the gateway's routers (gateway/dynamic/routers.yml) send a request to, read without Traefik.

The routers file is a Go template; this reads its route declarations (the `template "pair" (dict ...)` calls
and the `range ... := dict "/api/x" "service"` prefix table) and evaluates their rules (Path, PathPrefix,
PathRegexp, Method, joined by || and &&) by priority, as Traefik does. tests/gateway checks the same file
with a real Traefik; this lets the deployment checks ask "does every route of the code reach its service?"
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROUTERS = Path(__file__).resolve().parents[2] / "gateway" / "dynamic" / "routers.yml"
_PAIR = re.compile(r'template\s+"pair"\s+\(dict(.*?)\)\s*}}', re.S)
_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\(list[^)]*\)|\(printf[^)]*\)|\$[\w.]+|\d+')
_PREFIX_TABLE = re.compile(r"range\s+\$prefix,\s*\$service\s*:=\s*dict(.*?)}}(.*?){{-?\s*end", re.S)
_TERM = re.compile(r"(Path|PathPrefix|PathRegexp|Method)\(`([^`]*)`\)")


@dataclass(frozen=True)
class Route:
    name: str
    priority: int
    service: str
    rule: str

    def matches(self, method: str, path: str) -> bool:
        return any(_all_terms_match(alternative, method, path) for alternative in self.rule.split("||"))


def _all_terms_match(alternative: str, method: str, path: str) -> bool:
    terms = _TERM.findall(alternative)
    if not terms or ("&&" in alternative and alternative.count("&&") != len(terms) - 1):
        return False  # a matcher this reader does not know: never claim a match
    for kind, argument in terms:
        if kind == "Path" and path != argument:
            return False
        if kind == "PathPrefix" and not path.startswith(argument):
            return False
        if kind == "PathRegexp" and not re.search(argument, path):
            return False
        if kind == "Method" and method.upper() != argument.upper():
            return False
    return True


def _pairs(arguments: str) -> dict[str, str]:
    tokens = [m.group(1) if m.group(1) is not None else m.group(0) for m in _TOKEN.finditer(arguments)]
    return dict(zip(tokens[::2], tokens[1::2], strict=False))


def routes(path: Path = ROUTERS) -> list[Route]:
    text = path.read_text()
    found: list[Route] = []
    for table in _PREFIX_TABLE.finditer(text):
        body = table.group(2)
        priority = int(re.search(r'"priority"\s+(\d+)', body).group(1)) if '"priority"' in body else 0
        rule_format = re.search(r'\(printf\s+"((?:[^"\\]|\\.)*)"\s+\$prefix\s+\$prefix\)', body)
        tokens = re.findall(r'"([^"]*)"', table.group(1))
        for prefix, service in zip(tokens[::2], tokens[1::2], strict=False):
            rule = rule_format.group(1).replace("%s", prefix) if rule_format else f"PathPrefix(`{prefix}`)"
            found.append(Route(service, priority, service, rule))
    for call in _PAIR.finditer(text):
        pairs = _pairs(call.group(1))
        if {"name", "service", "rule", "priority"} <= pairs.keys() and not pairs["rule"].startswith("("):
            found.append(Route(pairs["name"], int(pairs["priority"]), pairs["service"], pairs["rule"]))
    return found


def route_for(method: str, path: str, table: list[Route] | None = None) -> Route | None:
    """The router Traefik picks: the matching one with the highest priority."""
    matching = [r for r in (table if table is not None else routes()) if r.matches(method, path)]
    return max(matching, key=lambda r: r.priority) if matching else None
