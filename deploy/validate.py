"""Offline checks of the deployment files: no Docker engine or Kubernetes cluster needed.

- ``deploy/k8s/*.yaml``: every document against the Kubernetes OpenAPI schemas
  (kubernetes-validate, strict: an unknown or misspelt field is an error).
- ``deploy/compose/docker-compose.yml``: against the Compose Specification's JSON schema as
  shipped in compose-go, the library ``docker compose`` itself is built on (fetched once
  through the Go module proxy into Go's module cache).
- ``deploy/compose/haproxy.cfg``: ``haproxy -c`` (Debian's haproxy, installed when missing).

``python -m deploy.validate`` prints each file's result and exits 1 when one fails.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from .tools import ensure

DEPLOY = Path(__file__).parent
KUBERNETES_VERSION = "1.31.0"
COMPOSE_GO = "github.com/compose-spec/compose-go/v2@v2.16.2"


def kubernetes_errors(path: Path) -> list[str]:
    """What the Kubernetes schemas find wrong in a manifest file."""
    errors = []
    for index, document in enumerate(yaml.safe_load_all(path.read_text())):
        if document is None:
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            errors.append(
                f"{path.name} document {index + 1} ({document.get('kind')}): {where}: {exc.message}"
            )
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{path.name} document {index + 1}: unknown kind or version: {exc}")
    return errors


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's schema, from compose-go in Go's module cache."""
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["go", "mod", "init", "check"], cwd=tmp, check=True, capture_output=True)
        done = subprocess.run(
            ["go", "mod", "download", "-json", COMPOSE_GO],
            cwd=tmp,
            check=True,
            capture_output=True,
            text=True,
        )
    folder = Path(json.loads(done.stdout)["Dir"])
    schema: dict[str, Any] = json.loads((folder / "schema" / "compose-spec.json").read_text())
    return schema


def compose_errors(path: Path) -> list[str]:
    """What the Compose Specification finds wrong in a compose file."""
    document = yaml.safe_load(path.read_text())
    validator = jsonschema.Draft202012Validator(compose_schema())
    errors = [
        f"{path.name}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]
    services = document.get("services", {})
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            if needed not in services:
                errors.append(f"{path.name}: service {name} depends on unknown {needed}")
    return errors


def haproxy_errors(path: Path) -> list[str]:
    """What `haproxy -c` finds wrong in a configuration."""
    ensure("haproxy")
    done = subprocess.run(["haproxy", "-c", "-f", str(path)], capture_output=True, text=True)
    if done.returncode != 0:
        return [f"{path.name}: {(done.stdout + done.stderr).strip()}"]
    return []


def check_all() -> dict[str, list[str]]:
    """Every deployment file's problems, by file."""
    results = {
        str(path.relative_to(DEPLOY)): kubernetes_errors(path)
        for path in sorted((DEPLOY / "k8s").glob("*.yaml"))
    }
    results["compose/docker-compose.yml"] = compose_errors(
        DEPLOY / "compose" / "docker-compose.yml"
    )
    results["compose/haproxy.cfg"] = haproxy_errors(DEPLOY / "compose" / "haproxy.cfg")
    return results


def main() -> None:
    """Print each deployment file's check; exit 1 if any failed."""
    results = check_all()
    for name, errors in results.items():
        print(f"{'ok  ' if not errors else 'FAIL'} deploy/{name}")
        for error in errors:
            print(f"     {error}")
    if any(results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
