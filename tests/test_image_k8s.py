"""deploy/k8s under `podman kube play` (`make test-image`): the pods come up and answer.

The manifests run as written, with only what a cluster would bring changed for this host: the
image is the one `make image` built, Temporal and PostgreSQL are those the test starts here,
each Deployment runs one replica on ports of its own (every pod shares the host's network, so
nothing is published and the probes name their port by number), and the Secrets are podman
secrets. Podman 4.3 runs no Job, so the migration Job's pod runs as
a Pod first, as the Job would before a deploy.
"""

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from infra.contract import SEARCH_ATTRIBUTES
from tests.containers import (
    IMAGE,
    bare_dev_server,
    ensure_image,
    free_port,
    fresh_database,
    key_spec,
    podman,
    podman_missing,
)

pytestmark = [
    pytest.mark.image,
    pytest.mark.skipif(podman_missing() is not None, reason=str(podman_missing())),
]

K8S = Path(__file__).parents[1] / "deploy" / "k8s"
POD_TIMEOUT = 180.0


def manifests() -> list[dict[str, Any]]:
    """The objects `kubectl apply -k deploy/k8s` would apply, in the kustomization's order."""
    listed = yaml.safe_load((K8S / "kustomization.yaml").read_text())["resources"]
    return [doc for name in listed for doc in yaml.safe_load_all((K8S / name).read_text()) if doc]


@dataclass(frozen=True)
class Played:
    """The manifests as played here: the ports each pod's probes are asked on."""

    documents: list[dict[str, Any]]
    ports: dict[str, int]
    """Port of each named container port (`http` of the API and the codec, `metrics`)."""
    namespace: str
    client: Client


def _for_this_host(
    documents: list[dict[str, Any]], temporal_address: str, ports: dict[str, int]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The migration Job as a Pod, and the rest, changed only where this host differs."""
    for doc in documents:
        if doc["kind"] == "ConfigMap":
            doc["data"]["TEMPORAL_ADDRESS"] = temporal_address
            for setting, port in ports.items():
                doc["data"][setting] = str(port)
        if doc["kind"] == "Deployment":
            doc["spec"]["replicas"] = 1
        if doc["kind"] in {"Deployment", "Job"}:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                container["image"] = IMAGE
                # On the host's network a pod publishes nothing (podman refuses port mappings
                # there): the probes name the port by number instead of by name.
                named = {port["name"] for port in container.pop("ports", [])}
                for probe in ("livenessProbe", "readinessProbe"):
                    if probe in container:
                        assert container[probe]["httpGet"]["port"] in named
                        number = ports[_SETTING_OF_PORT[container["name"]]]
                        container[probe]["httpGet"]["port"] = number
    (job,) = (doc for doc in documents if doc["kind"] == "Job")
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": job["metadata"]["name"], "labels": job["metadata"]["labels"]},
        "spec": job["spec"]["template"]["spec"],
    }
    config = [doc for doc in documents if doc["kind"] == "ConfigMap"]
    rest = [doc for doc in documents if doc["kind"] != "Job"]
    return [*config, pod], rest


_SETTING_OF_PORT = {
    "api": "PARCOURS_API_PORT",
    "codec": "PARCOURS_CODEC_PORT",
    "worker": "PARCOURS_METRICS_PORT",
}


@contextmanager
def secrets(values: dict[str, dict[str, str]]) -> Iterator[None]:
    """The Secrets the manifests name, as podman secrets (a JSON map of base64 values is what
    `kube play` reads for `secretKeyRef`)."""
    for name, data in values.items():
        podman("secret", "rm", name, check=False)
        encoded = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
        podman("secret", "create", name, "-", input_text=json.dumps(encoded))
    try:
        yield
    finally:
        for name in values:
            podman("secret", "rm", name, check=False)


def _play(path: Path, documents: list[dict[str, Any]]) -> None:
    path.write_text(yaml.safe_dump_all(documents))
    podman("kube", "play", "--replace", "--network", "host", str(path), timeout=300)


def _down(path: Path) -> None:
    if path.exists():
        podman("kube", "down", str(path), check=False)


def _container_state(name: str) -> dict[str, Any]:
    state: dict[str, Any] = json.loads(
        podman("inspect", "--format", "{{json .State}}", name).stdout
    )
    return state


async def _exit_code(container: str, timeout: float = POD_TIMEOUT) -> int:
    deadline = time.monotonic() + timeout
    while (state := await asyncio.to_thread(_container_state, container))["Status"] != "exited":
        assert time.monotonic() < deadline, f"{container} is still {state['Status']}"
        await asyncio.sleep(1)
    return int(state["ExitCode"])


@pytest.fixture(scope="module")
async def played(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Played]:
    """deploy/k8s played on this host against a fresh database and a bare `parcours` namespace."""
    await asyncio.to_thread(ensure_image)
    workdir = tmp_path_factory.mktemp("k8s")
    migration, workloads = workdir / "migrate.yaml", workdir / "workloads.yaml"
    async with bare_dev_server("parcours") as temporal, fresh_database(database_url) as database:
        ports = {setting: free_port() for setting in _SETTING_OF_PORT.values()}
        address = temporal.client.service_client.config.target_host
        job, rest = _for_this_host(manifests(), address, ports)
        values = {
            "parcours-secrets": {
                "database-url": database,
                "codec-keys": key_spec("k8s-test"),
            },
            "parcours-person-keys": {"person-keys": key_spec("k8s-test-persons")},
            # Optional in the manifests, but podman 4.3 refuses a missing optional volume.
            "parcours-temporal-tls": {},
        }
        with secrets(values):
            try:
                await asyncio.to_thread(_play, migration, job)
                exit_code = await _exit_code("parcours-migrate-migrate")
                logs = podman("logs", "parcours-migrate-migrate", check=False)
                assert exit_code == 0, f"the migration pod failed:\n{logs.stderr[-3000:]}"
                await asyncio.to_thread(_play, workloads, rest)
                yield Played(rest, ports, "parcours", temporal.client)
            finally:
                await asyncio.to_thread(_down, workloads)
                await asyncio.to_thread(_down, migration)


async def test_the_migration_job_registers_the_search_attributes(played: Played) -> None:
    listed = await played.client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=played.namespace)
    )
    assert {key.name for key in SEARCH_ATTRIBUTES} <= set(listed.custom_attributes)


async def test_every_pod_runs_and_answers_its_probes(played: Played) -> None:
    deployments = [doc for doc in played.documents if doc["kind"] == "Deployment"]
    assert {doc["metadata"]["name"] for doc in deployments} == {
        "parcours-api",
        "parcours-codec",
        "parcours-worker",
    }
    async with httpx.AsyncClient(timeout=3) as http:
        for deployment in deployments:
            (container,) = deployment["spec"]["template"]["spec"]["containers"]
            name = f"{deployment['metadata']['name']}-pod-0-{container['name']}"
            port = played.ports[_SETTING_OF_PORT[container["name"]]]
            for probe in ("livenessProbe", "readinessProbe"):
                path = container[probe]["httpGet"]["path"]
                await _answers(http, f"http://127.0.0.1:{port}{path}", name)
            restarts = podman("inspect", "--format", "{{.RestartCount}}", name).stdout
            assert (await asyncio.to_thread(_container_state, name))["Running"]
            assert restarts.strip() == "0", f"{name} restarted {restarts} times"


async def _answers(http: httpx.AsyncClient, url: str, container: str) -> None:
    """Until `url` answers 2xx, as the kubelet's probe waits; fails when the container stops."""
    deadline = time.monotonic() + POD_TIMEOUT
    while True:
        try:
            if (await http.get(url)).is_success:
                return
        except httpx.HTTPError:
            pass
        state = await asyncio.to_thread(_container_state, container)
        if time.monotonic() > deadline or not state["Running"]:
            logs = podman("logs", container, check=False)
            raise AssertionError(f"{url} of {container} never answered:\n{logs.stderr[-3000:]}")
        await asyncio.sleep(0.5)
