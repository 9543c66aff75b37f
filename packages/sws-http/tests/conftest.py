"""Makes `sws_http_testing.py` (next to this file) importable by sws_http's tests.

Test modules cannot import each other by name (pytest runs with --import-mode=importlib and
test directories are not packages), so the shared scaffolding is loaded here, by path, before
any test module under this folder is collected, and registered in `sys.modules` under its own
name: a test module or conftest below writes `import sws_http_testing`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest


def _load_testing() -> None:
    """Import `sws_http_testing.py` once, with its asserts rewritten like a test module's."""
    name = "sws_http_testing"
    if name in sys.modules:  # sws_ws's integration conftest may have loaded it first
        return
    pytest.register_assert_rewrite(name)
    where = [str(Path(__file__).resolve().parent)]
    spec = next(s for f in sys.meta_path if (s := f.find_spec(name, where)))  # pytest's first
    module = sys.modules[name] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)


_load_testing()
