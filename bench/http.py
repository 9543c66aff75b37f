"""HTTP/1.1 hello world: sws-http against nginx, a raw uvloop+httptools Protocol, uvicorn
and granian, in three cases measured in the same run, interleaved.

Every competitor is one process on cpu0 answering `GET /` with `200 hello` (scripts in
`servers/`); wrk drives it from cpu1 with 64 connections on one thread:

- "keep-alive": `wrk -t1 -c64 -d{seconds}s --latency`, one request in flight per connection;
- "pipelined x16": the same with `servers/pipeline.lua`, 16 requests written back to back
  per connection before reading the 16 answers;
- "connection: close": the same with `-H "Connection: close"`, one request per connection
  (so mostly accept + close: connections per second).

Competitors (reference: nginx):

- "sws-http": `http_sws.py`, a `sws_http.Server` with `@app.get("/")` answering
  `ctx.text("hello")`, served in-process by `app.run(host, port)` (routing, Context, Date);
- "nginx": `http_nginx.py` execs nginx with `nginx.conf.template` (one process,
  `master_process off`, `return 200 "hello"`, access_log off);
- "httptools": `http_httptools.py`, an asyncio Protocol on uvloop parsing with httptools;
- "uvicorn": `http_uvicorn.py`, a bare ASGI app on uvicorn (uvloop, httptools, no logs);
- "granian": `http_granian.py`, an RSGI app on granian's embedded server in-process (its
  normal server forks its worker, which the harness's /proc sampling would not see).

Optional competitors (httptools, uvicorn, granian) that cannot be imported or fail to start
are skipped with a message; sws-http and nginx are required. Besides the harness's table
it prints one per case with req/s, p99 latency, server CPU us per request and the ratios
to nginx, and ends with these lines:

    http keepalive cpu/req ratio sws/nginx: X.XX
    http pipelined req/s: N
    http close conn/s ratio sws/nginx: X.XX
"""

from __future__ import annotations

import importlib.util
import math
import shutil
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import (
    DEFAULT_PORT_WAIT_S,
    BenchError,
    Benchmark,
    Case,
    Competitor,
    LoadSpec,
    Results,
    format_rows,
    free_port,
    make_parser,
    options_from_args,
    report,
    run_benchmark,
    runs_by_case,
    serving,
)

HERE = Path(__file__).resolve().parent
SERVERS = HERE / "servers"
REFERENCE = "nginx"
MEASURED = "sws-http"
DEFAULT_SECONDS = 3  # 3 cases x 5 competitors x 5 rounds x (3 s + start/stop): ~4.5 min
QUICK_SECONDS = 1
DEPTH = 16

KEEPALIVE = "keep-alive"
PIPELINED = f"pipelined x{DEPTH}"
CLOSE = "connection: close"
CASES = (
    Case(KEEPALIVE),
    Case(PIPELINED, load=LoadSpec(script=SERVERS / "pipeline.lua", script_args=(str(DEPTH),))),
    Case(CLOSE, load=LoadSpec(extra_args=("-H", "Connection: close"))),
)

# Python modules each competitor's server imports, and how to get them.
REQUIRED_MODULES = {"sws_http": "run `make install` (installs the packages editable into .venv)"}
OPTIONAL_MODULES = {
    "httptools": ("uvloop", "httptools"),
    "uvicorn": ("uvloop", "httptools", "uvicorn"),
    "granian": ("uvloop", "granian"),
}
PIP_HINT = "pip install -r bench/requirements.txt"
NGINX_HINT = "install it with `apt-get install -y nginx`"


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    if found is not None:
        return found
    for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if Path(path).exists():
            return path
    return None


def all_competitors(nginx_dir: Path) -> tuple[Competitor, ...]:
    py = sys.executable

    def server(script: str, *args: str) -> tuple[str, ...]:
        return (py, str(SERVERS / script), "--port", "{port}", *args)

    return (
        Competitor(MEASURED, server("http_sws.py")),
        Competitor(REFERENCE, server("http_nginx.py", "--dir", str(nginx_dir))),
        Competitor("httptools", server("http_httptools.py")),
        Competitor("uvicorn", server("http_uvicorn.py")),
        Competitor("granian", server("http_granian.py")),
    )


def missing_modules(modules: Sequence[str]) -> list[str]:
    missing = []
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                missing.append(module)
        except (ImportError, ValueError):
            missing.append(module)
    return missing


def starts(competitor: Competitor) -> str | None:
    """Start the server once and stop it; None if it accepted connections, else why not."""
    port = free_port()
    argv = [arg.replace("{port}", str(port)) for arg in competitor.argv]
    try:
        with serving(argv, port, env=competitor.env, start_timeout_s=DEFAULT_PORT_WAIT_S):
            pass
    except BenchError as e:
        return str(e)
    return None


def usable_competitors(nginx_dir: Path) -> tuple[Competitor, ...]:
    """The competitors that can run here: sws-http and nginx or fail; the others are skipped
    with a message on stderr when their modules are missing or their server does not start.

    Raises:
        BenchError: sws-http or nginx cannot run (the message names the fix).
    """
    for module, hint in REQUIRED_MODULES.items():
        if missing_modules([module]):
            raise BenchError(f"{module} is not importable by {sys.executable}: {hint}")
    if find_nginx() is None:
        raise BenchError(f"nginx not found: {NGINX_HINT}")
    chosen = []
    for competitor in all_competitors(nginx_dir):
        modules = OPTIONAL_MODULES.get(competitor.name)
        if modules is not None:
            missing = missing_modules(modules)
            if missing:
                print(
                    f"http: skipping {competitor.name}: {', '.join(missing)} not importable by "
                    f"{sys.executable} ({PIP_HINT})",
                    file=sys.stderr,
                )
                continue
        why = starts(competitor)
        if why is not None:
            if modules is None:
                raise BenchError(f"{competitor.name} does not start: {why}")
            print(f"http: skipping {competitor.name}: {why}", file=sys.stderr)
            continue
        chosen.append(competitor)
    return tuple(chosen)


def medians(results: Results) -> dict[tuple[str, str], dict[str, float]]:
    """Per (case, competitor): median req/s, p99 (us), server CPU us/req, errors, wrk busy."""
    out = {}
    for key, runs in runs_by_case(results).items():
        # wrk records one latency sample per pipelined batch, and its percentile walk can
        # come up empty and print 0 for the top percentiles then: no p99 unless every run has one
        p99 = [r.extra.get("latency_p99_us", 0.0) for r in runs]
        out[key] = {
            "req_s": statistics.median(r.ops_per_s for r in runs),
            "p99_us": statistics.median(p99) if all(p99) else float("nan"),
            "cpu_us": statistics.median(r.cpu_us_per_op for r in runs),
            "errors": sum(r.extra.get("errors", 0.0) for r in runs),
            "server_busy": statistics.median(r.cpu_s / r.seconds for r in runs),
            "wrk_busy": statistics.median(r.extra.get("load_cpu_share", 0.0) for r in runs),
        }
    return out


def case_table(results: Results, stats: dict[tuple[str, str], dict[str, float]]) -> str:
    header = (
        "case",
        "competitor",
        "req/s",
        "p99 ms",
        "cpu us/req",
        "req/s vs nginx",
        "cpu/req vs nginx",
        "server busy",
        "wrk busy",
        "errors",
    )
    rows: list[tuple[str, ...]] = [header]
    for s in results.summaries:
        m = stats[(s.case, s.competitor)]
        ref = stats.get((s.case, REFERENCE))
        rows.append(
            (
                s.case,
                s.competitor,
                f"{m['req_s']:,.0f}",
                "n/a" if math.isnan(m["p99_us"]) else f"{m['p99_us'] / 1000:.2f}",
                f"{m['cpu_us']:.2f}",
                f"{m['req_s'] / ref['req_s']:.2f}" if ref else "-",
                f"{m['cpu_us'] / ref['cpu_us']:.2f}" if ref and ref["cpu_us"] else "-",
                f"{m['server_busy']:.0%}",
                f"{m['wrk_busy']:.0%}",
                f"{m['errors']:.0f}",
            )
        )
    return format_rows(rows)


def ratio_line(stats: dict[tuple[str, str], dict[str, float]], case: str, key: str) -> str:
    mine, ref = stats.get((case, MEASURED)), stats.get((case, REFERENCE))
    if mine is None or ref is None or not ref[key]:
        return "n/a (no runs)"
    return f"{mine[key] / ref[key]:.2f}"


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "HTTP hello world (keep-alive, pipelined x16, Connection: close): "
        "sws-http against nginx, httptools, uvicorn, granian.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    ns = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sws-bench-http-") as nginx_dir:
        try:
            options = options_from_args(ns)
            competitors = usable_competitors(Path(nginx_dir))
            meta = {
                "connections": 64,
                "wrk_threads": 1,
                "pipeline_depth": DEPTH,
                "servers": {c.name: " ".join(c.argv) for c in competitors},
            }
            bench = Benchmark("http", "server", CASES, competitors, REFERENCE, meta=meta)
            results = run_benchmark(bench, options)
        except BenchError as e:
            print(f"http: {e}", file=sys.stderr)
            return 2
    report(results, options.out_dir)
    stats = medians(results)
    print()
    print(case_table(results, stats))
    pipelined = stats.get((PIPELINED, MEASURED))
    print(f"http keepalive cpu/req ratio sws/nginx: {ratio_line(stats, KEEPALIVE, 'cpu_us')}")
    shown = f"{pipelined['req_s']:.0f}" if pipelined else "n/a (no runs)"
    print(f"http pipelined req/s: {shown}")
    print(f"http close conn/s ratio sws/nginx: {ratio_line(stats, CLOSE, 'req_s')}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
