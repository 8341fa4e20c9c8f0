"""The house's layout, as a newcomer reads it: which layer may import which, no cycles,
small modules, and a docstring on every public function.

Read from the source with ``ast`` (imports inside functions count too), so a violation
fails here before it confuses anyone.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "stockkeeper", "loadtests", "deploy")
#: "About 400 lines": past this a module is doing more than one thing.
MAX_LINES = 420


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name."""
    found: dict[str, Path] = {}
    for package in (*PACKAGES, "tests"):
        for path in sorted((ROOT / package).rglob("*.py")):
            found[_module_name(path)] = path
    return found


def _resolve(module: str, path: Path, node: ast.ImportFrom) -> list[str]:
    if node.level == 0:
        base = node.module or ""
    else:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    # "from . import a, b" imports modules a and b; "from .x import name" imports x.
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name for name in names if name in modules()] or [base]


@cache
def imports(module: str) -> frozenset[str]:
    """The project modules ``module`` imports, wherever in the file the import is."""
    path = modules()[module]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.update(_resolve(module, path, node))
    known = modules()
    return frozenset(name for name in found if name in known and name != module)


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _product_modules() -> Iterator[str]:
    return (m for m in modules() if not _in(m, "tests"))


def _handler_modules() -> set[str]:
    """Modules of server/api that register routes: the handlers, peers of each other."""
    return {
        m
        for m in modules()
        if _in(m, "server.api") and "def add_routes(" in modules()[m].read_text("utf-8")
    }


def test_there_is_no_import_cycle() -> None:
    """Guards against the cycle server/cli.py -> loadtests -> server/cli.py (tune_gc)."""
    graph = {m: imports(m) for m in modules()}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for dependency in sorted(graph[module]):
            if state.get(dependency) == 1:
                cycles.append([*trail[trail.index(dependency) :], dependency])
            elif dependency not in state:
                visit(dependency, [*trail, dependency])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_the_stock_keeper_knows_nothing_of_the_server_or_the_benchmarks() -> None:
    wrong = {
        (m, dep)
        for m in modules()
        if _in(m, "stockkeeper")
        for dep in imports(m)
        if not _in(dep, "stockkeeper")
    }
    assert wrong == set()


def test_the_product_never_imports_its_benchmarks() -> None:
    """Guards against `livesale --help` failing without the dev extras (psutil)."""
    wrong = {
        (m, dep)
        for m in _product_modules()
        if not _in(m, "loadtests")
        for dep in imports(m)
        if _in(dep, "loadtests")
    }
    assert wrong == set()


#: The two modules on top of everything: they wire the layers together.
WIRING = {"server.app", "server.cli"}


def test_the_domain_never_imports_the_api_layer() -> None:
    wrong = {
        (m, dep)
        for m in modules()
        if _in(m, "server") and not _in(m, "server.api") and m not in WIRING
        for dep in imports(m)
        if _in(dep, "server.api")
    }
    assert wrong == set()


def test_handler_modules_are_peers_that_never_import_each_other() -> None:
    handlers = _handler_modules()
    assert len(handlers) >= 8  # purchase, offers, room, room host, shows, hosts, demo, health
    wrong = {(m, dep) for m in handlers for dep in imports(m) if dep in handlers}
    assert wrong == set()


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_is_much_over_400_lines(module: str) -> None:
    lines = len(modules()[module].read_text("utf-8").splitlines())
    assert lines <= MAX_LINES, f"{module} has {lines} lines"


def test_public_classes_say_what_they_are_in_a_docstring() -> None:
    missing = [
        f"{module}.{node.name}"
        for module in _product_modules()
        for node in ast.parse(modules()[module].read_text("utf-8")).body
        if isinstance(node, ast.ClassDef)
        and not node.name.startswith("_")
        and ast.get_docstring(node) is None
    ]
    assert missing == []


def test_public_functions_say_what_they_do_in_a_docstring() -> None:
    missing = []
    for module in _product_modules():
        tree = ast.parse(modules()[module].read_text("utf-8"))
        scopes: list[ast.AST] = [tree]
        scopes += [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name[0] != "_"]
        for scope in scopes:
            for node in ast.iter_child_nodes(scope):
                if (
                    isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                    and not node.name.startswith("_")
                    and ast.get_docstring(node) is None
                ):
                    missing.append(f"{module}.{node.name}")
    assert missing == []
