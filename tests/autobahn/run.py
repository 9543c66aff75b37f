"""Run the Autobahn|Testsuite fuzzing client against the demo's WebSocket echo (`/ws`).

    python tests/autobahn/run.py            # the quick pass `make test` runs (about 40 s)
    python tests/autobahn/run.py --all      # all 517 cases (`make conformance`, ~10 min)

The quick pass leaves out 9.* (throughput: messages of up to 16 MiB) and keeps, of the
permessage-deflate groups 12.* and 13.*, the five smallest message sizes of each parameter
set. A case passes when its behavior is OK, NON-STRICT or INFORMATIONAL; UNIMPLEMENTED is
a skip; anything else fails. The server is `python -m sws_ws.demo` on a free loopback
port, started here and stopped by its PID. Autobahn's HTML report stays in the output
folder (`reports/index.html`).

Exit status: 0 when no case failed, 1 otherwise, 2 when the test suite is not installed
(`make autobahn`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_WSTEST = ROOT / ".venv-autobahn" / "bin" / "wstest"
PASSING = frozenset({"OK", "NON-STRICT", "INFORMATIONAL"})
# wstest's patterns are loose ("12.*.1" also takes 12.1.15): the compression cases are
# listed one by one.
QUICK_CASES = [
    *(f"{group}.*" for group in (1, 2, 3, 4, 5, 6, 7, 10)),
    *(f"12.{params}.{size}" for params in range(1, 6) for size in range(1, 6)),
    *(f"13.{params}.{size}" for params in range(1, 8) for size in range(1, 6)),
]
ALL_CASES = ["*"]
START_TIMEOUT_S = 20.0
QUICK_TIMEOUT_S = 600.0
ALL_TIMEOUT_S = 3600.0


@dataclass
class Summary:
    """What a run gave, case by case."""

    passed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (case, behavior)
    skipped: list[str] = field(default_factory=list)
    non_strict: list[str] = field(default_factory=list)
    report_dir: Path | None = None

    def line(self) -> str:
        return f"{len(self.passed)} passed, {len(self.failed)} failed, {len(self.skipped)} skipped"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int, server: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the demo server exited with status {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the demo server did not listen on port {port} within {timeout_s} s")


def summarize(index: dict[str, dict[str, dict[str, object]]]) -> Summary:
    """Count an Autobahn `index.json` (one agent) into a `Summary`."""
    summary = Summary()
    for cases in index.values():
        for case, result in sorted(cases.items(), key=lambda kv: _case_key(kv[0])):
            behavior = str(result.get("behavior"))
            if behavior in PASSING:
                summary.passed.append(case)
                if behavior == "NON-STRICT":
                    summary.non_strict.append(case)
            elif behavior == "UNIMPLEMENTED":
                summary.skipped.append(case)
            else:
                summary.failed.append((case, behavior))
    return summary


def _case_key(case: str) -> list[int]:
    return [int(part) for part in case.split(".")]


def run(
    *, cases: list[str], wstest: Path, out_dir: Path, timeout_s: float, exclude: list[str]
) -> Summary:
    """Start the demo, run wstest's fuzzing client over `cases`, stop the demo.

    Raises:
        RuntimeError: the server did not start, or wstest failed or ran out of time.
    """
    port = _free_port()
    log = (out_dir / "server.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "sws_ws.demo", "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(port, server, START_TIMEOUT_S)
        spec = {
            "outdir": str(out_dir / "reports"),
            "servers": [{"agent": "sws", "url": f"ws://127.0.0.1:{port}/ws"}],
            "cases": cases,
            "exclude-cases": exclude,
            "exclude-agent-cases": {},
        }
        (out_dir / "spec.json").write_text(json.dumps(spec, indent=2))
        with (out_dir / "wstest.log").open("wb") as wstest_log:
            subprocess.run(
                [str(wstest), "-m", "fuzzingclient", "-s", "spec.json"],
                cwd=out_dir,
                stdout=wstest_log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=True,
            )
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    index = json.loads((out_dir / "reports" / "index.json").read_text())
    summary = summarize(index)
    summary.report_dir = out_dir / "reports"
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="all 517 cases, not the quick pass")
    parser.add_argument("--wstest", type=Path, default=DEFAULT_WSTEST)
    parser.add_argument("--out", type=Path, help="output folder (default: a new temp folder)")
    args = parser.parse_args(argv)
    if not os.access(args.wstest, os.X_OK):
        print(f"wstest not found at {args.wstest}: run `make autobahn`", file=sys.stderr)
        return 2
    out_dir = args.out or Path(tempfile.mkdtemp(prefix="sws-autobahn-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = run(
        cases=ALL_CASES if args.all else QUICK_CASES,
        wstest=args.wstest,
        out_dir=out_dir,
        timeout_s=ALL_TIMEOUT_S if args.all else QUICK_TIMEOUT_S,
        exclude=[] if args.all else ["9.*"],
    )
    for case, behavior in summary.failed:
        print(f"FAILED {case}: {behavior}")
    if summary.non_strict:
        print(f"NON-STRICT: {', '.join(summary.non_strict)}")
    print(f"report: {summary.report_dir}/index.html")
    print(summary.line())
    return 1 if summary.failed else 0


if __name__ == "__main__":
    sys.exit(main())
