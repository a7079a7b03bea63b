"""deploy/k8s, checked offline: kustomize renders every overlay, every object validates against the
Kubernetes schemas, the custom resources carry what their operators require, the generated files match
deploy/services.yml and gateway/, and the manifests match the code (services, settings, databases, routes)."""

from __future__ import annotations

import copy
from pathlib import Path

import k8s_check
import k8s_generate
import kubernetes_validate
import pytest
import yaml
from deployment import SERVICES, service_specs
from gateway_routes import route_for, routes
from k8s_check import (
    K8S_VERSION,
    OVERLAYS,
    check_objects,
    render,
    route_problems,
    schema_problems,
)
from k8s_gateway import static_backends
from settings_check import settings_class

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request):
    return request.param, render(request.param)


def find(objects, kind, name):
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def problems_after(objects, change):
    changed = copy.deepcopy(objects)
    change(changed)
    return check_objects(changed)


def test_the_generated_manifests_are_current():
    assert k8s_generate.stale_files() == [], "run .venv/bin/python tools/deploy/k8s_generate.py"


def test_a_stale_generated_file_is_reported(tmp_path, monkeypatch):
    monkeypatch.setattr(k8s_generate, "GATEWAY", tmp_path)
    (tmp_path / "dynamic").mkdir()
    (tmp_path / "traefik.yml").write_text("entryPoints: {}\n")
    stale = k8s_generate.stale_files()
    assert "deploy/k8s/base/gateway/traefik.yml" in stale
    assert any(s.startswith("deploy/k8s/base/gateway/dynamic/routers.yml") for s in stale)


def test_the_service_list_is_every_service_of_the_repository():
    on_disk = sorted(p.parent.name for p in (REPO / "services").glob("*/pyproject.toml"))
    assert sorted(SERVICES) == on_disk, "deploy/services.yml must list every service (and only those)"
    for name, spec in service_specs().items():
        assert set(spec["calls"].values()) <= set(SERVICES), name


def test_every_overlay_renders_and_validates(rendered):
    overlay, objects = rendered
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "NetworkPolicy",
            "StatefulSet", "ConfigMap", "Cluster"} <= kinds
    assert schema_problems(objects) == []
    namespaces = {o["metadata"].get("namespace") for o in objects}
    assert namespaces == {"jesh" if overlay == "production" else "jesh-staging"}


def test_the_schemas_ship_with_the_package_and_validation_can_fail():
    schemas = Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema"
    assert (schemas / f"v{K8S_VERSION}-local-strict").is_dir(), "kubernetes-validate must ship its schemas"
    objects = render("staging")
    deployment = copy.deepcopy(find(objects, "Deployment", "booking"))
    deployment["spec"]["replicas"] = "two"
    assert any(p.startswith("Deployment/booking: spec/replicas") for p in schema_problems([deployment]))
    deployment = copy.deepcopy(find(objects, "Deployment", "booking"))
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}  # strict: unknown field
    assert any("readinessprobe" in p for p in schema_problems([deployment]))


def test_custom_resources_carry_their_operators_required_fields():
    objects = render("production")
    cluster = copy.deepcopy(find(objects, "Cluster", "payments-db"))
    del cluster["spec"]["instances"]
    backup = copy.deepcopy(find(objects, "ScheduledBackup", "payments-db-daily"))
    backup["spec"]["cluster"] = {}
    store = copy.deepcopy(find(objects, "ObjectStore", "payments-db"))
    del store["spec"]["configuration"]["destinationPath"]
    assert schema_problems([cluster, backup, store]) == [
        "Cluster/payments-db: spec.instances is required by its operator",
        "ScheduledBackup/payments-db-daily: spec.cluster.name is required by its operator",
        "ObjectStore/payments-db: spec.configuration.destinationPath is required by its operator",
    ]


def test_the_manifests_match_the_code(rendered):
    _, objects = rendered
    assert check_objects(objects) == []


def test_every_route_of_every_service_reaches_it_through_the_gateway():
    assert route_problems() == []
    # the metrics path and the internal API are never routed (the gateway's catch-all 404)
    for path in ("/metrics", "/internal/invoices/1", "/healthz", "/readyz"):
        assert route_for("GET", path).service == "not-found"


def test_a_misrouted_path_is_found(tmp_path):
    routers = (REPO / "gateway" / "dynamic" / "routers.yml").read_text()
    swapped = tmp_path / "routers.yml"
    swapped.write_text(routers.replace('"/api/units" "inventory"', '"/api/units" "booking"'))
    table = routes(swapped)
    assert route_for("GET", "/api/units/1/availability", table).service == "booking"
    assert route_for("POST", "/api/auth/login", table).name == "auth-credentials"


def test_each_overlay_pins_an_image_for_every_service():
    for overlay in OVERLAYS:
        path = REPO / "deploy" / "k8s" / "overlays" / overlay / "kustomization.yaml"
        kustomization = yaml.safe_load(path.read_text())
        pinned = {image["name"] for image in kustomization.get("images") or []}
        assert {f"jesh/{name}" for name in [*SERVICES, *static_backends()]} <= pinned, overlay


# --- the checks can fail ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def staging():
    return render("staging")


def test_a_missing_deployment_and_companions_are_reported(staging):
    def drop(objects):
        objects[:] = [o for o in objects if not (o["metadata"]["name"] == "booking" and
                                                 o["kind"] in ("Deployment", "PodDisruptionBudget"))]

    problems = problems_after(staging, drop)
    assert "booking: no Deployment" in problems
    problems = problems_after(staging, lambda objects: objects.remove(find(objects, "PodDisruptionBudget", "booking")))
    assert "booking: no PodDisruptionBudget" in problems


def test_a_written_secret_is_reported(staging):
    def change(objects):
        env = find(objects, "Deployment", "payments")["spec"]["template"]["spec"]["containers"][0]["env"]
        passkey = next(item for item in env if item["name"] == "MPESA_PASSKEY")
        passkey.pop("valueFrom")
        passkey["value"] = "5e0c" * 16
        objects.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "jesh-auth"},
                        "stringData": {"AUTH_SIGNING_KEY": "x"}})

    problems = problems_after(staging, change)
    assert "payments: MPESA_PASSKEY is a secret and must come from a Secret (secretKeyRef)" in problems
    assert "payments: secret MPESA_PASSKEY must come from a Secret (secretKeyRef)" in problems
    assert "Secret/jesh-auth: secrets are referenced, never written in the manifests" in problems


def test_a_required_setting_the_deployment_does_not_give_is_reported(staging, monkeypatch):
    base = settings_class("inventory")

    class StricterSettings(base):
        warehouse_code: str

    monkeypatch.setattr(k8s_check, "settings_class",
                        lambda name: StricterSettings if name == "inventory" else settings_class(name))
    assert "inventory: its Settings require WAREHOUSE_CODE, which the Deployment does not provide" in check_objects(
        staging)


def test_a_missing_settings_key_and_a_wrong_peer_are_reported(staging):
    def change(objects):
        find(objects, "ConfigMap", next(o["metadata"]["name"] for o in objects
                                        if o["metadata"]["name"].startswith("jesh-settings")))["data"].pop(
            "TRANSPORT_PER_KM")
        env = find(objects, "Deployment", "booking")["spec"]["template"]["spec"]["containers"][0]["env"]
        next(item for item in env if item["name"] == "INVENTORY_URL")["value"] = "http://payments:8000"

    problems = problems_after(staging, change)
    assert any(p.startswith("transport: TRANSPORT_PER_KM reads key TRANSPORT_PER_KM") for p in problems)
    assert "booking: INVENTORY_URL points at 'payments', which does not run inventory" in problems
    assert "booking: its NetworkPolicy does not let it call payments (INVENTORY_URL)" in problems


def test_a_database_open_to_another_service_is_reported(staging):
    def change(objects):
        policy = find(objects, "NetworkPolicy", "payments-db")
        booking = {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "booking"}}}
        policy["spec"]["ingress"][0]["from"].append(booking)
        env = find(objects, "Deployment", "transport")["spec"]["template"]["spec"]["containers"][0]["env"]
        url = next(item for item in env if item["name"] == "DATABASE_URL")
        url["valueFrom"]["secretKeyRef"]["name"] = "booking-db-app"

    problems = problems_after(staging, change)
    assert "payments-db: port 5432 must be open to payments only (wrong for booking)" in problems
    assert "transport: DATABASE_URL must come from Secret transport-db-app key uri (the owner role)" in problems


def test_gateway_drift_and_a_missing_backend_are_reported(staging):
    def change(objects):
        dynamic = next(o for o in objects
                       if o["kind"] == "ConfigMap" and o["metadata"]["name"].startswith("gateway-dynamic"))
        dynamic["data"]["routers.yml"] += "# edited in the cluster\n"
        env = find(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["env"]
        env[:] = [item for item in env if item["name"] != "JESH_TRANSPORT_URLS"]

    problems = problems_after(staging, change)
    assert "gateway: /etc/traefik/dynamic does not serve gateway/dynamic/routers.yml as it is" in problems
    assert "gateway: JESH_TRANSPORT_URLS must be http://transport:8000 (got None)" in problems


def test_the_portal_behind_the_gateway_is_checked(staging):
    if "web" not in static_backends():
        pytest.skip("the gateway routes to no static portal")
    assert {("Deployment", "web"), ("Service", "web"), ("NetworkPolicy", "web")} <= {
        (o["kind"], o["metadata"]["name"]) for o in staging}

    def change(objects):
        pod = find(objects, "Deployment", "web")["spec"]["template"]["spec"]
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
        find(objects, "NetworkPolicy", "web")["spec"]["egress"] = [{}]
        env = find(objects, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["env"]
        next(item for item in env if item["name"] == "JESH_WEB_URLS")["value"] = "http://web:80"

    problems = problems_after(staging, change)
    assert "web: must run as non-root with a read-only root filesystem" in problems
    assert "web: its NetworkPolicy must let only the gateway in and nothing out" in problems
    assert "gateway: JESH_WEB_URLS must be http://web:8080 (got 'http://web:80')" in problems


def test_an_unsafe_pod_is_reported(staging):
    def change(objects):
        pod = find(objects, "Deployment", "inventory")["spec"]["template"]["spec"]
        pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"] = False
        pod["containers"][0]["readinessProbe"]["httpGet"]["path"] = "/healthz"
        pod["initContainers"] = []
        find(objects, "Deployment", "inventory")["spec"]["replicas"] = 1

    problems = problems_after(staging, change)
    assert "inventory: container inventory needs a read-only root filesystem" in problems
    assert "inventory: readinessProbe must GET /readyz" in problems
    assert "inventory: the Deployment must run at least 2 replicas" in problems
    assert any(p.startswith("inventory: an init container 'migrate' must run alembic") for p in problems)


def test_a_new_service_gets_its_image_line_in_each_overlay():
    specs = {**service_specs(), "ghost": {"calls": {}, "secrets": [], "optional_secrets": [], "settings": [],
                                          "internet": []}}
    path = REPO / "deploy" / "k8s" / "overlays" / "production" / "kustomization.yaml"
    text = k8s_generate.overlay_kustomization(path, specs)
    assert text.startswith(path.read_text().partition("\nimages:\n")[0])  # the hand-written part is kept
    images = {i["name"]: i for i in yaml.safe_load(text)["images"]}
    assert images["jesh/ghost"] == {"name": "jesh/ghost", "newName": "registry.example.com/jesh/ghost",
                                    "newTag": images["jesh/auth"]["newTag"]}
    assert len(images) == len(specs) + len(static_backends())


def test_the_generated_manifests_are_plain_yaml():
    for path in (REPO / "deploy" / "k8s" / "base").rglob("*.yaml"):
        text = path.read_text()
        assert "&id" not in text and "*id" not in text, f"{path}: YAML anchors/aliases"


def test_internet_egress_is_given_as_ports(tmp_path):
    listing = tmp_path / "services.yml"
    listing.write_text(
        "services:\n  a: {internet: true}\n  b: {internet: [443, 587]}\n"
        "  c: {internet: true, internet_ports: [443, 465]}\n  d: {}\n"
    )
    specs = service_specs.__wrapped__(listing)
    assert [specs[n]["internet"] for n in "abcd"] == [[443], [443, 587], [443, 465], []]


def compose_only_variables(objects):
    """service -> the variables docker-compose.yml gives it that its Kubernetes Deployment does not."""
    from compose_check import environment_of, load_compose

    compose = load_compose()["services"]
    missing = {}
    for name in SERVICES:
        container = next(c for c in find(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"]
                         if c["name"] == name)
        given = {item["name"] for item in container.get("env") or []}
        missing[name] = sorted(set(environment_of(compose[name])) - given)
    return missing


def test_every_variable_compose_gives_a_service_its_deployment_gives_too(staging):
    # e.g. auth's JESH_RATE_LIMIT_AUTH_* were once left to their defaults on Kubernetes
    assert compose_only_variables(staging) == {name: [] for name in SERVICES}
    changed = copy.deepcopy(staging)
    auth = find(changed, "Deployment", "auth")["spec"]["template"]["spec"]["containers"][0]
    auth["env"] = [item for item in auth["env"] if item["name"] != "JESH_RATE_LIMIT_AUTH_BURST"]
    assert compose_only_variables(changed)["auth"] == ["JESH_RATE_LIMIT_AUTH_BURST"]
