"""The Autobahn|Testsuite quick pass against the demo's WebSocket echo (see autobahn/run.py).

Skipped when the suite is not installed (`make autobahn`, which `make test` runs: it needs
pyenv's Python 2.7.18). `make conformance` runs all 517 cases.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

RUNNER = Path(__file__).resolve().parent / "autobahn" / "run.py"


def _load_runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("autobahn_run", RUNNER)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defining
    spec.loader.exec_module(module)
    return module


runner = _load_runner()


def test_summarize_counts_behaviors() -> None:
    index = {
        "sws": {
            "1.1.1": {"behavior": "OK"},
            "1.1.2": {"behavior": "NON-STRICT"},
            "6.4.1": {"behavior": "INFORMATIONAL"},
            "12.1.1": {"behavior": "UNIMPLEMENTED"},
            "5.6": {"behavior": "FAILED"},
            "7.1.1": {"behavior": "WRONG CODE"},
        }
    }
    summary = runner.summarize(index)
    assert summary.passed == ["1.1.1", "1.1.2", "6.4.1"]
    assert summary.non_strict == ["1.1.2"]
    assert summary.skipped == ["12.1.1"]
    assert summary.failed == [("5.6", "FAILED"), ("7.1.1", "WRONG CODE")]
    assert summary.line() == "3 passed, 2 failed, 1 skipped"


@pytest.mark.integration
@pytest.mark.skipif(
    not os.access(runner.DEFAULT_WSTEST, os.X_OK), reason="Autobahn not installed: make autobahn"
)
def test_autobahn_quick_pass(tmp_path: Path) -> None:
    summary = runner.run(
        cases=runner.QUICK_CASES,
        wstest=runner.DEFAULT_WSTEST,
        out_dir=tmp_path,
        timeout_s=runner.QUICK_TIMEOUT_S,
        exclude=["9.*"],
    )
    assert summary.failed == [], f"{summary.line()}; report in {summary.report_dir}"
    assert len(summary.passed) > 300, summary.line()  # the whole quick set ran
