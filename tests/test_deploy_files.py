"""The deployment files pass the offline checks, and the checks do catch mistakes."""

from __future__ import annotations

from pathlib import Path

from deploy.kafka_broker import new_cluster_id
from deploy.validate import check_all, compose_errors, haproxy_errors, kubernetes_errors


def test_the_deployment_files_pass_every_offline_check() -> None:
    results = check_all()
    failing = {name: errors for name, errors in results.items() if errors}
    assert failing == {}
    assert {"k8s/server.yaml", "k8s/relay.yaml", "k8s/configmap.yaml", "k8s/secret.yaml"} <= set(
        results
    )


def test_a_misspelt_kubernetes_field_is_caught(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text(
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n"
        "spec: {maxUnavailble: 1, selector: {matchLabels: {a: b}}}\n"
    )
    [error] = kubernetes_errors(manifest)
    assert "maxUnavailble" in error


def test_a_broken_compose_file_is_caught(tmp_path: Path) -> None:
    compose = tmp_path / "docker-compose.yml"
    compose.write_text("services:\n  web:\n    image: x\n    ports: 8080\n    depends_on: [db]\n")
    errors = compose_errors(compose)
    assert any("ports" in error for error in errors)
    assert any("unknown db" in error for error in errors)


def test_a_broken_haproxy_config_is_caught(tmp_path: Path) -> None:
    config = tmp_path / "haproxy.cfg"
    config.write_text("frontend web\n    bind :8080\n    default_backend nowhere\n")
    assert haproxy_errors(config)


def test_a_kafka_cluster_id_never_looks_like_an_option() -> None:
    """Guards against a fresh broker failing to format its storage about once in 64 starts:
    an id starting with "-" was read by the storage tool as an option."""
    ids = {new_cluster_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert not any(cluster_id.startswith("-") for cluster_id in ids)
    assert all(len(cluster_id) == 22 for cluster_id in ids)
