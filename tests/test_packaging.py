"""What ``pip install .`` gives someone: the product's command works with the runtime
dependencies alone, and the benchmarks' command says what it lacks instead of crashing.

Builds a fresh virtualenv in a temporary folder and installs a copy of the repository into
it (not editable, no extras), so the build leaves nothing in the repository. pip's cache
(``~/.cache/pip``) makes a second run take seconds; the first downloads the dependencies.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: Files the running service, its commands and its benchmarks read besides Python modules.
DATA_FILES = ("server", "*.lua", "*.html", "*.js", "*.css"), ("stockkeeper", "*.lua", "*.json")
#: Not part of what pip builds from: environments, caches, reports, earlier builds.
NOT_SHIPPED = shutil.ignore_patterns(
    ".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache",
    "reports", "build", "dist", "*.egg-info", "node_modules",
)  # fmt: skip

pytestmark = pytest.mark.venv


@pytest.fixture(scope="module")
def runtime_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding the package and its runtime dependencies only; its bin folder."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = tmp / "livesale"
    shutil.copytree(ROOT, source, ignore=NOT_SHIPPED)
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    done = subprocess.run([*pip, str(source)], capture_output=True, text=True, timeout=600, cwd=tmp)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return venv / "bin"


def run_in(bin_dir: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """A command of the virtualenv, away from the repository and without LIVESALE_* set."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LIVESALE_")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(bin_dir / command[0]), *command[1:]],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=bin_dir.parent,
    )


@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("command", "usage"),
    [
        (["livesale", "--help"], "usage: livesale "),
        (["livesale", "serve", "--help"], "usage: livesale serve "),
        (["livesale", "fulfil", "--help"], "usage: livesale fulfil "),
    ],
)
def test_the_product_command_runs_with_the_runtime_dependencies_only(
    runtime_venv: Path, command: list[str], usage: str
) -> None:
    """Guards against `livesale --help` failing with ModuleNotFoundError (psutil) after
    `pip install .`: the product's command imported the benchmarks to build its parser."""
    done = run_in(runtime_venv, *command)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(usage)
    assert done.stderr == ""


@pytest.mark.timeout(900)
def test_the_bench_command_says_in_one_line_that_it_needs_the_dev_extras(
    runtime_venv: Path,
) -> None:
    assert run_in(runtime_venv, "python", "-c", "import psutil").returncode != 0
    done = run_in(runtime_venv, "livesale-bench", "--help")
    assert done.returncode == 1
    [line] = done.stderr.splitlines()
    assert line.startswith("livesale-bench: the benchmarks need the development extras (")
    assert "pip install -e '.[dev]'" in line


@pytest.mark.timeout(900)
def test_the_installed_package_holds_every_script_page_and_schema(runtime_venv: Path) -> None:
    """Guards against a Lua script, page or schema left out of the wheel (package-data):
    the help texts would still work, the service would not."""
    where = "import os, server; print(os.path.dirname(server.__path__[0]))"
    site = Path(run_in(runtime_venv, "python", "-c", where).stdout.strip())
    wanted = {
        path.relative_to(ROOT)
        for package, *patterns in DATA_FILES
        for pattern in patterns
        for path in (ROOT / package).rglob(pattern)
    }
    wanted |= {Path("deploy/kafka/pom.xml"), Path("loadtests/wrk_storm.lua")}
    assert wanted
    assert sorted(str(f) for f in wanted if not (site / f).is_file()) == []
