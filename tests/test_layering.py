"""The package graph of DESIGN.md §2, checked by parsing every module's imports.

Allowed edges (anything else fails):

    uring        -> stdlib
    sws_core     -> stdlib, uring
    sws_http     -> stdlib, sws_core
    sws_ws       -> stdlib, sws_core, sws_http
    sws_client   -> stdlib, sws_core, sws_http.proto, dnslib

Sans-IO protocol modules (`sws_http.proto`, `sws_ws.proto`) import only the stdlib and
their own subpackage: no sockets layer, no loop, no ring.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "packages"

ALLOWED: dict[str, frozenset[str]] = {
    "uring": frozenset(),
    "sws_core": frozenset({"uring"}),
    "sws_http": frozenset({"sws_core"}),
    "sws_ws": frozenset({"sws_core", "sws_http"}),
    "sws_client": frozenset({"sws_core", "sws_http.proto", "dnslib"}),
}
SANS_IO = ("sws_http.proto", "sws_ws.proto")
STDLIB = frozenset(sys.stdlib_module_names)


@dataclass(frozen=True)
class Edge:
    """One import: which module imports what, and where."""

    source: str
    target: str
    path: Path
    lineno: int

    def __str__(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.lineno}: {self.source} imports {self.target}"


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def module_name(path: Path, src: Path) -> str:
    """Return the dotted module name of `path` under the `src` directory."""
    parts = list(path.relative_to(src).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool, path: Path) -> list[Edge]:
    """Return every import in `source`, relative ones resolved against `module`."""
    edges = []
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            edges += [Edge(module, a.name, path, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package[: len(package) - node.level + 1]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from pkg import name` may name a submodule: check the most specific form.
            edges += [Edge(module, f"{base}.{a.name}", path, node.lineno) for a in node.names]
    return edges


def violation(edge: Edge) -> str | None:
    """Return why `edge` breaks the package graph, or None if it is allowed."""
    own = edge.source.split(".")[0]
    top = edge.target.split(".")[0]
    sans_io = next((p for p in SANS_IO if _within(edge.source, p)), None)
    if top in STDLIB or top == "__future__":
        return None
    if sans_io is not None:
        if _within(edge.target, sans_io):
            return None
        return f"sans-IO module {edge.source} may import only the stdlib and {sans_io}"
    if top == own:
        return None
    if any(_within(edge.target, allowed) for allowed in ALLOWED[own]):
        return None
    return f"{own} may not import {edge.target}"


def project_edges() -> list[Edge]:
    """Return the imports of every module of every package's src/."""
    edges = []
    for src in sorted(PACKAGES.glob("*/src")):
        for path in sorted(src.rglob("*.py")):
            name = module_name(path, src)
            edges += imports_of(path.read_text(), name, path.name == "__init__.py", path)
    return edges


def test_every_package_is_known() -> None:
    tops = {module_name(p, p.parent) for p in PACKAGES.glob("*/src/*") if p.is_dir()}
    assert tops == set(ALLOWED)


def test_imports_follow_the_package_graph() -> None:
    edges = project_edges()
    assert edges, "no imports found: the scan is broken"
    problems = [f"{e}: {why}" for e in edges if (why := violation(e))]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("module", "code", "allowed"),
    [
        ("uring._ring", "import socket", True),
        ("uring._ring", "import sws_core", False),
        ("uring._ring", "from dnslib import DNSRecord", False),
        ("sws_core.loop", "from uring import Ring", True),
        ("sws_core.loop", "from sws_http import Server", False),
        ("sws_http.server", "from sws_core import Loop", True),
        ("sws_http.server", "import uring", False),
        ("sws_http.server", "from sws_ws import proto", False),
        ("sws_http.proto.parse", "from sws_core import Loop", False),
        ("sws_http.proto.parse", "from ..server import App", False),
        ("sws_http.proto.parse", "from . import limits", True),
        ("sws_http.proto.parse", "import re", True),
        ("sws_ws.app", "from sws_http import Server", True),
        ("sws_ws.proto.frames", "from sws_http.proto import x", False),
        ("sws_client.http", "from sws_http.proto import parse_response", True),
        ("sws_client.http", "from sws_http import proto", True),
        ("sws_client.http", "from sws_http import Server", False),
        ("sws_client.dns", "import dnslib", True),
        ("sws_client.dns", "from sws_ws import x", False),
    ],
)
def test_checker_catches_bad_edges(module: str, code: str, allowed: bool) -> None:
    is_package = module.endswith(".proto")
    edges = imports_of(code, module, is_package, ROOT / "x.py")
    assert edges
    assert all(violation(e) is None for e in edges) is allowed


def test_relative_imports_resolve() -> None:
    [edge] = imports_of("from ..server import App", "sws_http.proto.parse", False, ROOT)
    assert edge.target == "sws_http.server.App"
    [edge] = imports_of("from . import x", "sws_http.proto", True, ROOT)
    assert edge.target == "sws_http.proto.x"
