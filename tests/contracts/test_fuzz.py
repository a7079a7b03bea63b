"""Property-based run of every service's committed OpenAPI document against the whole stack, through the gateway.

Schemathesis generates requests from contracts/openapi/<service>.json, valid and invalid ones (and valid ones
with a NUL or a lone surrogate in their strings), a bounded number per operation (FUZZ_EXAMPLES, default 12),
as an anonymous caller, a customer and the admin, and checks every
answer: never a 5xx, and its status code, content type and body are the ones the document declares; and no service
logs an error meanwhile (a callback is acknowledged whatever becomes of it: only the log tells). What it
finds is reported all at once (operation, status, a curl command to replay it), not only the first failure.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from jeshstack.testing import LogsSince

REPO = Path(__file__).resolve().parents[2]
OPENAPI_DIR = REPO / "contracts" / "openapi"
SERVICES = sorted(path.stem for path in OPENAPI_DIR.glob("*.json"))
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]
# Requests that would change what the rest of the run relies on: the admin's own session and account.
SPARED = {("POST", "/api/auth/logout"), ("PATCH", "/api/auth/profile")}


def provider_hook(path: str) -> bool:
    """Where M-PESA and Pesapal call us: they carry no token, so these are fuzzed as the anonymous caller only."""
    return "/hooks/" in path or path == "/api/payments/mpesa/callback"


@dataclass
class Findings:
    """Problems by (operation, kind): the first example of each."""

    problems: dict[tuple[str, str], str] = field(default_factory=dict)

    def record(self, label: str, kind: str, detail: str) -> None:
        self.problems.setdefault((label, kind), detail)

    def report(self) -> str:
        return "\n\n".join(f"{label}: {kind}\n{detail}" for (label, kind), detail in sorted(self.problems.items()))


@pytest.fixture(scope="module")
def callers(jesh_stack: Any) -> dict[str, dict[str, str]]:
    """Authorization headers: nobody, a fresh customer, the admin."""
    gateway = str(jesh_stack.gateway_url)
    email = f"fuzz-{uuid.uuid4().hex[:10]}@example.co.ke"
    r = httpx.post(f"{gateway}/api/auth/register", timeout=30,
                   json={"email": email, "phone": "0712345678", "name": "Fuzz Customer", "password": "fuzzing-1234"})
    assert r.status_code == 201, r.text
    return {
        "anonymous": {},
        "customer": {"Authorization": f"Bearer {r.json()['token']}"},
        "admin": {"Authorization": f"Bearer {jesh_stack.admin_token()}"},
    }


def tainted(case: Any, bad: str) -> Any:
    """The case with `bad` inside every string of its body and query (what hand probes found: NUL, surrogates)."""

    def taint(value: Any) -> Any:
        if isinstance(value, str):
            return value[:1] + bad + value[1:]
        if isinstance(value, dict):
            return {key: taint(item) for key, item in value.items()}
        if isinstance(value, list):
            return [taint(item) for item in value]
        return value

    if isinstance(case.body, (dict, list)):
        case.body = taint(case.body)
    if case.query and bad == NUL:  # a lone surrogate cannot be put in a URL at all
        case.query = taint(case.query)
    return case


NUL, SURROGATE = "\x00", "\ud800"


def fuzz_operation(operation: Any, base_url: str, headers: dict[str, str], findings: Findings) -> None:
    label = operation.label
    positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    negative = operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)
    strategy = (
        positive.map(lambda case: ("", case)) | negative.map(lambda case: ("", case))
        | positive.map(lambda case: (NUL, tainted(case, NUL)))
        | positive.map(lambda case: (SURROGATE, tainted(case, SURROGATE)))
    )

    @given(variant=strategy)
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    def run(variant: tuple[str, Any]) -> None:
        bad, case = variant
        if bad == SURROGATE and not isinstance(case.body, (dict, list)):
            bad = ""  # nothing to put it in (a lone surrogate cannot go into a URL)
        try:
            if bad == SURROGATE:  # only expressible as a JSON escape: sent as ASCII JSON text
                response = httpx.request(
                    case.method, base_url + case.formatted_path, params=case.query,
                    headers={**headers, "Content-Type": "application/json"}, content=json.dumps(case.body), timeout=20,
                )
            else:
                response = case.call(base_url=base_url, headers=headers, timeout=20)
        except Exception as exc:  # noqa: BLE001  (a hung or reset connection is a finding, not a crash of the run)
            findings.record(label, type(exc).__name__, str(exc)[:500])
            return
        if bad == SURROGATE:  # Schemathesis' own checks cannot hold such a case: the status is checked here
            declared = {str(code) for code in case.operation.responses.status_codes}
            if response.status_code >= 500 or str(response.status_code) not in declared:
                findings.record(
                    label, f"{response.status_code} with a lone surrogate",
                    f"declared: {sorted(declared)}\n  answer: {response.text[:300]}\n  replay: {case.method} "
                    f"{case.formatted_path} with the JSON body {json.dumps(case.body)[:1000]}",
                )
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001  (each failure is recorded, the run goes on)
            detail = f"{str(exc).strip()[:1500]}\n  replay: {case.as_curl_command(headers=headers)[:1500]}"
            findings.record(label, f"{response.status_code} {type(exc).__name__}", detail)

    run()


EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*: ")


def logged_errors(logs: LogsSince) -> list[str]:
    """The errors the services logged (their JSON lines at level error or critical), each with its exception's own
    line: an error logged while answering is a finding even when the answer was fine (a provider's callback is
    acknowledged whatever becomes of it)."""
    found = []
    for path, lines in logs.lines().items():
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # not one of the services' JSON lines (a server's own output)
            if isinstance(entry, dict) and entry.get("level") in ("error", "critical"):
                # the exception's own lines ("module.Error: what"), the last one
                exc = [x for x in str(entry.get("exc") or "").splitlines() if EXCEPTION_LINE.match(x)]
                found.append(f"{path.stem}: {entry.get('msg')}" + (f" ({exc[-1][:300]})" if exc else ""))
    return found


@pytest.mark.timeout(900)
@pytest.mark.parametrize("service", SERVICES)
def test_the_stack_answers_as_its_openapi_documents_say(service: str, jesh_stack: Any,
                                                          callers: dict[str, dict[str, str]]) -> None:
    raw = json.loads((OPENAPI_DIR / f"{service}.json").read_text())
    schema = schemathesis.openapi.from_dict(raw)
    base_url = str(jesh_stack.gateway_url)
    findings = Findings()
    logs = LogsSince(Path(jesh_stack.log_dir))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, f"{service}: no operation in its OpenAPI document"
    for operation in operations:
        if (operation.method.upper(), operation.path) in SPARED:
            continue
        for who, headers in callers.items():
            if who == "anonymous" or not provider_hook(operation.path):
                fuzz_operation(operation, base_url, headers, findings)
    for error in logged_errors(logs):
        findings.record("the services' logs", error[:200], error)
    assert not findings.problems, f"{service}: {len(findings.problems)} problem(s)\n\n{findings.report()}"


def test_a_finding_is_reported(jesh_stack: Any) -> None:
    """The run can fail: an operation that answers what its document does not declare is reported."""
    spec = json.loads((OPENAPI_DIR / "inventory.json").read_text())
    operation_spec = spec["paths"]["/api/units/{unit_id}"]["get"]
    operation_spec["responses"] = {"200": operation_spec["responses"]["200"]}  # 404 no longer declared
    spec["paths"] = {"/api/units/{unit_id}": {"get": operation_spec}}
    schema = schemathesis.openapi.from_dict(spec)
    findings = Findings()
    for result in schema.get_all_operations():
        fuzz_operation(result.ok(), str(jesh_stack.gateway_url), {}, findings)
    assert any(kind.startswith("404") for _, kind in findings.problems), findings.report()


def test_an_error_a_service_logs_during_the_run_is_a_finding(tmp_path: Path) -> None:
    """Only what came after the start, only errors, with the exception's own line; other lines are left alone."""
    log = tmp_path / "payments.log"
    log.write_text(json.dumps({"level": "error", "msg": "before the run"}) + "\n")
    logs = LogsSince(tmp_path)
    exc = ("Traceback (most recent call last):\n  File \"x\"\npsycopg2.errors.NumericValueOutOfRange: integer out of "
           "range\n\nThe above exception was the direct cause of the following exception:\n\nsqlalchemy.exc.DataError: "
           "(psycopg2.errors.NumericValueOutOfRange) integer out of range\n[SQL: INSERT]\n(Background on this error)")
    with log.open("a") as out:
        out.write("not json, a server's own line\n")
        out.write(json.dumps({"level": "warning", "msg": "ignored a callback that is not one"}) + "\n")
        out.write(json.dumps({"level": "error", "msg": "callback processing failed", "exc": exc}) + "\n")
    assert logged_errors(logs) == ["payments: callback processing failed (sqlalchemy.exc.DataError: "
                             "(psycopg2.errors.NumericValueOutOfRange) integer out of range)"]
