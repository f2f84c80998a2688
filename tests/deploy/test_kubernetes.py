"""The cluster manifests under deploy/, validated offline against the Kubernetes schemas, and
checked for what running them safely needs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = ("inventory", "orders", "gateway")


def _documents() -> list[dict[str, Any]]:
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    documents = []
    for resource in kustomization["resources"]:
        documents += [d for d in yaml.safe_load_all((DEPLOY / resource).read_text()) if d]
    return documents


def _kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _documents() if d["kind"] == kind}


@pytest.mark.parametrize(
    "document", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_every_manifest_validates_against_the_schema(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_every_file_in_deploy_is_in_the_kustomization() -> None:
    listed = set(yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())["resources"])
    assert {p.name for p in DEPLOY.glob("*.yaml")} - {"kustomization.yaml"} == listed


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_probes_resources_and_a_hardened_pod(name: str) -> None:
    pod = _kind("Deployment")[name]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert "startupProbe" in container
    assert {"cpu", "memory"} <= container["resources"]["requests"].keys()
    assert {"cpu", "memory"} <= container["resources"]["limits"].keys()
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "preStop" in container["lifecycle"]


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_has_a_matching_service_autoscaler_and_disruption_budget(name: str) -> None:
    deployment = _kind("Deployment")[name]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    port = deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]

    def selects(selector: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in selector.items())

    assert selects(deployment["spec"]["selector"]["matchLabels"])
    service = _kind("Service")[name]
    assert selects(service["spec"]["selector"])
    assert service["spec"]["ports"][0]["targetPort"] == port["name"]
    hpa = _kind("HorizontalPodAutoscaler")[name]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": name,
    }
    assert hpa["spec"]["maxReplicas"] > hpa["spec"]["minReplicas"] >= 2
    assert selects(_kind("PodDisruptionBudget")[name]["spec"]["selector"]["matchLabels"])


def test_mongodb_is_external_and_given_by_uri_in_the_secret() -> None:
    secret = _kind("Secret")["orders-inventory-secrets"]
    assert {"AUTH_JWT_SECRET", "INVENTORY_MONGODB_URI", "ORDERS_MONGODB_URI"} <= (
        secret["stringData"].keys()
    )
    assert not any("mongo" in name for name in _kind("Deployment"))
    assert _kind("ConfigMap")["orders-inventory-config"]["data"]


def test_only_the_gateway_is_exposed() -> None:
    ingresses = _kind("Ingress")
    backends = {
        path["backend"]["service"]["name"]
        for ingress in ingresses.values()
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert backends == {"gateway"}
    assert all(s["spec"]["type"] == "ClusterIP" for s in _kind("Service").values())
