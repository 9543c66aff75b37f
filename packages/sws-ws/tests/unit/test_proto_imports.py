"""sws_ws.proto is sans-IO: it imports only the standard library and its own modules, and
nothing that does IO, runs threads or reads a clock.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import sws_ws.proto

PROTO = Path(sws_ws.proto.__file__).parent
FORBIDDEN = {"socket", "select", "selectors", "threading", "asyncio", "time", "os", "ssl"}


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_proto_imports_only_the_stdlib_and_itself() -> None:
    files = sorted(PROTO.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        for name in imported_modules(path):
            top = name.partition(".")[0]
            if name.startswith("sws_ws.proto") or top == "__future__":
                continue
            assert top in sys.stdlib_module_names, f"{path.name} imports {name}"
            assert top not in FORBIDDEN, f"{path.name} imports {name}"
