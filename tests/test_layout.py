"""Every package is separately installable: its own pyproject, README, py.typed, src/, tests."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "uring": "uring",
    "sws-core": "sws_core",
    "sws-http": "sws_http",
    "sws-ws": "sws_ws",
    "sws-client": "sws_client",
}


@pytest.mark.parametrize(("folder", "import_name"), sorted(PACKAGES.items()))
def test_package_layout(folder: str, import_name: str) -> None:
    base = ROOT / "packages" / folder
    meta = tomllib.loads((base / "pyproject.toml").read_text())["project"]
    assert meta["requires-python"] == ">=3.11"
    assert meta["readme"] == "README.md"
    assert (base / "README.md").read_text().strip()
    assert (base / "src" / import_name / "py.typed").exists()
    assert (base / "src" / import_name / "__init__.py").exists()
    assert (base / "tests").is_dir()


@pytest.mark.parametrize("import_name", sorted(PACKAGES.values()))
def test_package_imports_and_exports_what_it_says(import_name: str) -> None:
    module = importlib.import_module(import_name)
    assert module.__doc__
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert not missing


def test_readme_names_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make run" in readme
    assert "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()
