"""The layers, checked from the imports: the domain knows no door, no store, no gRPC; the
doors see the domain only through the data plane and its types; each servicer method is
one delegation."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from aura_server.grpc_api import servicers

PACKAGE = Path(__file__).resolve().parent.parent / "server" / "aura_server"
OUTSIDE_THE_DOMAIN = (
    "aura_server.store",
    "aura_server.grpc_api",
    "aura_server.rest",
    "aura_server.cli",
    "aura_server.access",
    "aura_server.app",
    "grpc",
    "aura.v1",
    "google.protobuf",
)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_domain_module_imports_a_door_a_store_or_grpc() -> None:
    offenders = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in imported_modules(path)
            if any(name == banned or name.startswith(banned + ".") for banned in OUTSIDE_THE_DOMAIN)
        )
        for path in (PACKAGE / "domain").rglob("*.py")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_doors_never_reach_the_store_or_the_learner() -> None:
    reaching = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in imported_modules(path)
            if name.startswith(("aura_server.store", "aura_server.app"))
            or name.endswith((".bandit", ".repository", ".loop"))
        )
        for folder in ("grpc_api", "rest")
        for path in (PACKAGE / folder).rglob("*.py")
    }
    assert {path: names for path, names in reaching.items() if names} == {}


def test_the_package_root_holds_only_wiring_and_settings() -> None:
    modules = {path.name for path in PACKAGE.glob("*.py")}
    assert modules == {"__init__.py", "app.py", "config.py"}


def test_every_servicer_method_is_one_delegation() -> None:
    for service in servicers.SERVICES:
        for method in service.descriptor.methods:
            source = inspect.getsource(getattr(service.servicer, method.name))
            body = ast.parse(source.strip()).body[0]
            assert isinstance(body, ast.FunctionDef)
            statements = [s for s in body.body if not isinstance(s, ast.Expr)]  # docstrings
            assert len(statements) == 1 and isinstance(statements[0], ast.Return), method.name


# Inside the domain the flows depend one way: search on decision and learning, decision on
# learning; learning on neither (the shared catalog index, impressions, geography and
# array types sit at the domain's top level).
FLOWS_ABOVE = {
    "learning": ("decision", "search", "offline"),
    "decision": ("search", "offline"),
    "search": ("offline",),
}


def test_the_domain_flows_import_one_way() -> None:
    upward = {
        str(path.relative_to(PACKAGE)): sorted(
            name
            for name in imported_modules(path)
            if any(name.startswith(f"aura_server.domain.{other}") for other in above)
        )
        for flow, above in FLOWS_ABOVE.items()
        for path in (PACKAGE / "domain" / flow).rglob("*.py")
    }
    assert {path: names for path, names in upward.items() if names} == {}


def test_no_server_function_is_over_60_lines() -> None:
    """Long functions that switch modes are split; a declarative table may be long, but a
    function is not a table."""
    long = {
        f"{path.relative_to(PACKAGE)}:{node.name}": node.end_lineno - node.lineno + 1
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > 60
    }
    assert long == {}
