"""The operator's files in deploy/ agree with the code: variables, ports, probes, images, secrets.

Nothing here needs a container engine: the compose file, the Kubernetes manifests, the
Dockerfile and the dashboard are parsed and checked against what the processes read and serve.
"""

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from api.app import create_app
from api.metrics import ApiMetrics
from infra.codec import Keyring
from infra.person_keys import SETTING as PERSON_KEYS
from infra.settings import Settings
from starter.codec_server import create_codec_app
from starter.config import OPENS_PERSONAL_DATA, check
from starter.devstack import stack_programs

ROOT = Path(__file__).parents[1]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

SETTINGS_ENV = {str(field.validation_alias) for field in Settings.model_fields.values()}
"""Every variable `Settings` reads."""
REQUIRED_ENV = {
    str(field.validation_alias) for field in Settings.model_fields.values() if field.is_required()
}
SECRET_ENV = {
    str(field.validation_alias) for field in Settings.model_fields.values() if not field.repr
}
"""Settings never printed: the database URL (with its password), payload keys, the API key."""
LIBRARY_ENV = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SERVICE_NAME"}
"""Read by OpenTelemetry's SDK in a Parcours process."""
PRODUCTION_NEEDS = {"PARCOURS_ENV", "DATABASE_URL", "PARCOURS_CODEC_KEYS"}
THIRD_PARTY_SECRET = re.compile(r"PASSWORD|PWD|_SECRET$")
ENTRY_COMMANDS = {"worker", "api", "codec", "migrate", "cli", "probe"}
_INTERPOLATION = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")
_KEY = Keyring.generate("deploy-test")
_PERSON_KEY = Keyring.generate("deploy-test-persons")


# -- reading the files ---------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    return document


def compose_services() -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose()["services"]
    return services


def parcours_services() -> dict[str, dict[str, Any]]:
    """The compose services that run the Parcours image."""
    return {
        name: service
        for name, service in compose_services().items()
        if str(service["image"]).startswith("parcours:")
    }


def manifests() -> list[dict[str, Any]]:
    """Every Kubernetes object of deploy/k8s (not the Helm values, not the kustomization)."""
    documents: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name in {"temporal-values.yaml", "kustomization.yaml"}:
            continue
        documents.extend(doc for doc in yaml.safe_load_all(path.read_text()) if doc)
    return documents


def objects(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in manifests() if doc["kind"] == kind}


def configmap() -> dict[str, str]:
    data: dict[str, str] = objects("ConfigMap")["parcours-config"]["data"]
    return data


def pod_containers() -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, container) of every Deployment and Job."""
    for doc in manifests():
        if doc["kind"] in {"Deployment", "Job"}:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc["metadata"]["name"], container


def container_env(container: dict[str, Any]) -> dict[str, str]:
    """A container's environment: its ConfigMap's data, then its own entries (secrets as refs)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        assert source["configMapRef"]["name"] == "parcours-config"
        env.update(configmap())
    for entry in container.get("env", []):
        env[entry["name"]] = entry.get("value", "(from a Secret)")
    return env


def resolved(value: str, secrets: dict[str, str]) -> str:
    """A compose value with `${VAR:-default}` as its default and `${VAR:?...}` as `secrets[VAR]`."""

    def substitute(match: re.Match[str]) -> str:
        name, kind, rest = match.groups()
        return rest if kind == "-" else secrets.get(name, "x")

    return _INTERPOLATION.sub(substitute, value)


def route_paths(app: Any) -> set[str]:
    return set(app.openapi()["paths"])


def api_routes() -> set[str]:
    return route_paths(create_app(Settings()))


def codec_routes() -> set[str]:
    return route_paths(create_codec_app(Settings(PARCOURS_CODEC_KEYS=_spec())))


def _spec(keyring: Keyring = _KEY) -> str:
    import base64

    return f"{keyring.current}:{base64.b64encode(keyring.key(keyring.current)).decode()}"


SECRETS = {
    "PARCOURS_CODEC_KEYS": _spec(),
    PERSON_KEYS: _spec(_PERSON_KEY),
    "PARCOURS_DB_PASSWORD": "secret",
    "DATABASE_URL": "postgresql://db.invalid/parcours",
}
"""Values for the secrets the files take from the environment or a Secret."""


# -- variables -------------------------------------------------------------------------------------


def test_every_compose_service_of_parcours_is_configured_for_production() -> None:
    for name, service in parcours_services().items():
        env = {key: str(value) for key, value in service["environment"].items()}
        assert env.keys() >= PRODUCTION_NEEDS | REQUIRED_ENV, name
        assert env.keys() <= SETTINGS_ENV | LIBRARY_ENV, f"{name} sets what no process reads"
        # Only what the container holds: validated without this process's environment.
        settings = Settings.model_validate({k: resolved(v, SECRETS) for k, v in env.items()})
        assert settings.environment == "production", name
        assert settings.database_url is not None
        assert urlsplit(settings.database_url).hostname in compose_services(), name


def test_every_kubernetes_container_is_configured_for_production() -> None:
    containers = list(pod_containers())
    assert {name for name, _ in containers} == {
        "parcours-worker",
        "parcours-api",
        "parcours-codec",
        "parcours-migrate",
    }
    for name, container in containers:
        env = container_env(container)
        assert env.keys() >= PRODUCTION_NEEDS | REQUIRED_ENV, name
        assert env.keys() <= SETTINGS_ENV | LIBRARY_ENV, f"{name} sets what no process reads"
        plain = {key: value for key, value in env.items() if key not in SECRET_ENV}
        secrets = {key: SECRETS[key] for key in env.keys() & SECRET_ENV if key in SECRETS}
        settings = Settings.model_validate({**plain, **secrets})
        assert settings.environment == "production", name


def _service_environments() -> Iterator[tuple[str, str, dict[str, str]]]:
    """(where, entry command, environment as the process gets it) of every Parcours process
    that `deploy/` and `make dev` start."""
    for name, service in parcours_services().items():
        env = {key: resolved(str(value), SECRETS) for key, value in service["environment"].items()}
        yield f"compose {name}", service["command"][0], env
    for name, container in pod_containers():
        env = {
            key: SECRETS.get(key, value)
            for key, value in container_env(container).items()
            if key in SECRETS or value != "(from a Secret)"  # optional ones left out
        }
        yield f"k8s {name}", container["args"][0], env
    stack = {"PARCOURS_ENV": "production", **SECRETS}
    for program in stack_programs(Settings()):
        command = "worker" if program.args[1:] == ("-m", "worker") else program.args[-1]
        yield f"make dev {program.name}", command, program.environment(stack)


def test_the_person_keys_reach_the_worker_and_the_api_and_never_the_codec_server() -> None:
    seen = set()
    for where, command, env in _service_environments():
        settings = Settings.model_validate(env)
        if command in OPENS_PERSONAL_DATA:
            assert PERSON_KEYS in env, f"{where} needs {PERSON_KEYS}"
            check(settings, command)
        if command == "codec":
            assert PERSON_KEYS not in env, f"{where} must not receive {PERSON_KEYS}"
            seen.add(where.split()[0])
    assert seen == {"compose", "k8s", "make"}
    codec = next(c for name, c in pod_containers() if name == "parcours-codec")
    apart = {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for name, container in pod_containers()
        for entry in container.get("env", [])
        if entry["name"] == PERSON_KEYS
    }
    mounted_by_codec = {
        entry["valueFrom"]["secretKeyRef"]["name"]
        for entry in codec.get("env", [])
        if "valueFrom" in entry
    }
    assert apart and not apart & mounted_by_codec, "the person keys need a Secret of their own"


def test_no_secret_is_written_in_clear() -> None:
    for name, service in compose_services().items():
        for key, value in (service.get("environment") or {}).items():
            if key in SECRET_ENV or THIRD_PARTY_SECRET.search(key):
                required = [m for m in _INTERPOLATION.finditer(str(value)) if m.group(2) == "?"]
                assert required, f"{name}: {key} must come from the environment (${{VAR:?}})"
                assert not urlsplit(_INTERPOLATION.sub("", str(value))).password, f"{name}: {key}"
    for name, container in pod_containers():
        for entry in container.get("env", []):
            if entry["name"] in SECRET_ENV:
                assert "secretKeyRef" in entry.get("valueFrom", {}), f"{name}: {entry['name']}"
    assert not (configmap().keys() & SECRET_ENV)
    assert not [key for key in configmap() if THIRD_PARTY_SECRET.search(key)]
    for path in [*DEPLOY.rglob("*.yaml"), DEPLOY / "compose.env.example"]:
        text = path.read_text()
        assert not re.search(r"[A-Za-z0-9+/]{43}=", text), (
            f"{path.name} holds what looks like a key"
        )


# -- ports and probes ------------------------------------------------------------------------------


def _compose_probe(service: dict[str, Any]) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "parcours", "probe"], test
    return str(test[3])


def test_compose_health_checks_ask_what_the_processes_serve() -> None:
    services = parcours_services()
    api = urlsplit(_compose_probe(services["api"]))
    assert (api.path, str(api.port)) == (
        "/readyz",
        services["api"]["environment"]["PARCOURS_API_PORT"],
    )
    assert api.path in api_routes()
    codec = urlsplit(_compose_probe(services["codec"]))
    port = services["codec"]["environment"]["PARCOURS_CODEC_PORT"]
    assert (codec.path, str(codec.port)) == ("/healthz", port)
    assert codec.path in codec_routes()
    worker = urlsplit(_compose_probe(services["worker"]))
    assert str(worker.port) == services["worker"]["environment"]["PARCOURS_METRICS_PORT"]
    assert services["api"]["ports"] == ["8000:8000"]
    assert services["codec"]["ports"] == [f"{port}:{port}"]


def test_kubernetes_ports_probes_and_services_match_the_code() -> None:
    data = configmap()
    deployments = objects("Deployment")
    expected = {
        "parcours-api": (int(data["PARCOURS_API_PORT"]), api_routes(), {"/healthz", "/readyz"}),
        "parcours-codec": (int(data["PARCOURS_CODEC_PORT"]), codec_routes(), {"/healthz"}),
    }
    for name, (port, routes, probed) in expected.items():
        (container,) = deployments[name]["spec"]["template"]["spec"]["containers"]
        assert container["ports"] == [{"name": "http", "containerPort": port}]
        paths = {container[p]["httpGet"]["path"] for p in ("livenessProbe", "readinessProbe")}
        assert paths == probed and paths <= routes, name
        service = objects("Service")[name]["spec"]
        assert service["ports"][0]["targetPort"] == "http"
        assert service["selector"] == deployments[name]["spec"]["selector"]["matchLabels"]
    # Traffic reaches an API replica only while Temporal and PostgreSQL answer it.
    (api,) = deployments["parcours-api"]["spec"]["template"]["spec"]["containers"]
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    worker = deployments["parcours-worker"]["spec"]["template"]
    (container,) = worker["spec"]["containers"]
    metrics_port = int(data["PARCOURS_METRICS_PORT"])
    assert container["ports"] == [{"name": "metrics", "containerPort": metrics_port}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert worker["metadata"]["annotations"]["prometheus.io/port"] == str(metrics_port)


def test_every_workload_has_resources_disruption_budget_and_the_workers_scale() -> None:
    for name, container in pod_containers():
        assert {"requests", "limits"} <= container["resources"].keys(), name
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
    budgets = {
        doc["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for doc in objects("PodDisruptionBudget").values()
    }
    assert budgets == set(objects("Deployment"))
    (autoscaler,) = objects("HorizontalPodAutoscaler").values()
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == "parcours-worker"
    assert (
        autoscaler["spec"]["minReplicas"]
        >= objects("PodDisruptionBudget")["parcours-worker"]["spec"]["minAvailable"]
    )
    (job,) = objects("Job").values()
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    listed = set(yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"])
    assert listed == {p.name for p in K8S.glob("*.yaml")} - {
        "kustomization.yaml",
        "temporal-values.yaml",
    }


# -- images and the stack --------------------------------------------------------------------------


def test_every_image_is_pinned_and_parcours_is_this_version() -> None:
    images = [str(s["image"]) for s in compose_services().values()]
    images += [str(c["image"]) for _, c in pod_containers()]
    for image in images:
        name, _, tag = image.rpartition(":")
        assert name and re.fullmatch(r"\d+(\.\d+)+(-[a-z0-9.]+)?", tag), f"{image} is not pinned"
        if name.endswith("parcours"):
            assert tag == VERSION
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (base,) = re.findall(r"^ARG PYTHON_IMAGE=(\S+)$", dockerfile, re.M)
    assert re.fullmatch(r"python:3\.\d+\.\d+-slim-\w+", base)


def test_the_image_is_multi_stage_non_root_production_and_holds_no_development_state() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, re.M)) >= 2
    runtime = dockerfile[dockerfile.rindex("\nFROM ") :]
    (user,) = re.findall(r"^USER (\S+)$", runtime, re.M)
    assert user.split(":")[0] not in {"0", "root"}
    assert "PARCOURS_ENV=production" in runtime
    assert (
        'ENTRYPOINT ["parcours"]' in runtime
        and "deploy/entrypoint.sh /usr/local/bin/parcours" in runtime
    )
    copied = re.findall(r"^COPY (?!--from)(?:--\S+ )*(\S+)", dockerfile, re.M)
    assert not [path for path in copied if path.startswith((".data", "tests", "."))]
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1 :] and "!.data" not in ignored


def test_the_image_holds_every_package_the_project_installs() -> None:
    """The image installs the project's own wheel: every package of the source tree must be
    one the wheel takes (a new package left out of `pyproject.toml` would be missing)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = project["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {pattern.removesuffix("*") for pattern in included}
    in_tree = {
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name not in ("tests", "bench", "tools")
    }
    dockerfile = (DEPLOY / "Dockerfile").read_text()

    assert in_tree <= packages, f"left out of the wheel: {sorted(in_tree - packages)}"
    assert "--find-links /src/wheelhouse" in dockerfile and " parcours" in dockerfile


def test_the_compose_stack_runs_every_part_with_health_checks() -> None:
    services = compose_services()
    one_shot = {
        name
        for service in services.values()
        for name, condition in (service.get("depends_on") or {}).items()
        if condition["condition"] == "service_completed_successfully"
    }
    assert one_shot == {"temporal-schema", "temporal-namespace", "parcours-setup"}
    for name, service in services.items():
        if name in one_shot:
            assert service["restart"] == "no"
        else:
            assert service["healthcheck"]["test"], f"{name} has no health check"
    assert "temporal-sql-tool" in services["temporal-schema"]["command"][0]
    assert services["parcours-setup"]["command"] == ["migrate"]
    assert services["worker"]["deploy"]["replicas"] == 2
    for name, service in parcours_services().items():
        assert service["command"][0] in ENTRY_COMMANDS, name
    ui = services["temporal-ui"]["environment"]
    codec = services["codec"]["environment"]
    assert (
        ui["TEMPORAL_AUTH_ENABLED"] == "true" and ui["TEMPORAL_CODEC_PASS_ACCESS_TOKEN"] == "true"
    )
    assert urlsplit(resolved(ui["TEMPORAL_CODEC_ENDPOINT"], {})).port == int(
        codec["PARCOURS_CODEC_PORT"]
    )
    assert resolved(ui["TEMPORAL_CODEC_ENDPOINT"], {}).endswith("/codec")
    oidc = ("ISSUER", "AUDIENCE", "JWKS_URL")
    assert all("${" in codec[f"PARCOURS_CODEC_OIDC_{part}"] for part in oidc)


def test_the_helm_values_keep_temporal_on_postgresql_with_the_parcours_namespace() -> None:
    values = yaml.safe_load((K8S / "temporal-values.yaml").read_text())
    stores = values["server"]["config"]["persistence"]["datastores"]
    for store in stores.values():
        assert store["sql"]["pluginName"] == "postgres12"
        assert "password" not in store["sql"] and store["sql"]["existingSecret"]
    namespaces = values["server"]["config"]["namespaces"]["namespace"]
    assert [ns["name"] for ns in namespaces] == [configmap()["TEMPORAL_NAMESPACE"]]
    web = {entry["name"]: entry["value"] for entry in values["web"]["additionalEnv"]}
    assert web["TEMPORAL_AUTH_ENABLED"] == "true" and web["TEMPORAL_CODEC_ENDPOINT"].endswith(
        "/codec"
    )


# -- the dashboard ---------------------------------------------------------------------------------

SDK_SERIES = {
    "temporal_worker_task_slots_available",
    "temporal_worker_task_slots_used",
    "temporal_workflow_task_schedule_to_start_latency_bucket",
    "temporal_activity_schedule_to_start_latency_bucket",
    "temporal_workflow_task_execution_failed",
    "temporal_activity_execution_failed",
}
"""Series of the SDK's Prometheus endpoint (durations in seconds, no suffixes)."""


def _api_series() -> set[str]:
    """The series names the API's registry exposes, empty families included."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    return {
        family.name + suffix
        for family in ApiMetrics().registry.collect()
        for suffix in suffixes[family.type]
    }


@pytest.mark.parametrize(
    "topic", ["open trajectories per phase", "nudges", "refused", "lag", "slots"]
)
def test_the_dashboard_shows_the_programmes_health(topic: str) -> None:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    assert any(topic in panel["title"].lower() for panel in dashboard["panels"])


def _queries() -> dict[str, list[str]]:
    """Every PromQL expression of the dashboard and of the alerting rules, by file."""
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    rules = yaml.safe_load((DEPLOY / "prometheus-rules.yaml").read_text())
    return {
        "grafana-dashboard.json": [
            target["expr"] for panel in dashboard["panels"] for target in panel["targets"]
        ],
        "prometheus-rules.yaml": [
            rule["expr"] for group in rules["groups"] for rule in group["rules"]
        ],
    }


@pytest.mark.parametrize("file", ["grafana-dashboard.json", "prometheus-rules.yaml"])
def test_every_query_names_a_series_that_exists(file: str) -> None:
    known = _api_series() | SDK_SERIES
    named = set()
    for expr in _queries()[file]:
        named |= set(re.findall(r"\b(?:parcours|temporal)_[a-z_]+\b", expr))
    # The worker's lag histogram comes from the SDK meter: matched by a regex on its name.
    named.discard("parcours_read_model_lag")
    assert named and named <= known, named - known
