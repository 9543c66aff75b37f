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

import math
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import (
    MAKE_INSTALL_HINT,
    NGINX_INSTALL_HINT,
    SERVERS_DIR,
    BenchError,
    Benchmark,
    Case,
    Cell,
    Competitor,
    LoadSpec,
    Measure,
    Run,
    check_importable,
    command_lines,
    find_nginx,
    make_parser,
    median_of,
    options_from_args,
    ratio_cell,
    report_stats,
    run_benchmark,
    select_usable,
    server_argv,
    stats_ratio,
    value_cell,
)

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
    Case(PIPELINED, load=LoadSpec(script=SERVERS_DIR / "pipeline.lua", script_args=(str(DEPTH),))),
    Case(CLOSE, load=LoadSpec(extra_args=("-H", "Connection: close"))),
)

# Python modules each competitor's server imports, and how to get them.
REQUIRED_MODULES = {"sws_http": MAKE_INSTALL_HINT}
OPTIONAL_MODULES = {
    "httptools": ("uvloop", "httptools"),
    "uvicorn": ("uvloop", "httptools", "uvicorn"),
    "granian": ("uvloop", "granian"),
}


def all_competitors(nginx_dir: Path) -> tuple[Competitor, ...]:
    return (
        Competitor(MEASURED, server_argv("http_sws.py")),
        Competitor(REFERENCE, server_argv("http_nginx.py", "--dir", str(nginx_dir))),
        Competitor("httptools", server_argv("http_httptools.py")),
        Competitor("uvicorn", server_argv("http_uvicorn.py")),
        Competitor("granian", server_argv("http_granian.py")),
    )


def usable_competitors(nginx_dir: Path) -> tuple[Competitor, ...]:
    """The competitors that can run here: sws-http and nginx or fail; the others are skipped
    with a message on stderr when their modules are missing or their server does not start.

    Raises:
        BenchError: sws-http or nginx cannot run (the message names the fix).
    """
    check_importable(REQUIRED_MODULES)
    if find_nginx() is None:
        raise BenchError(f"nginx not found: {NGINX_INSTALL_HINT}")
    return select_usable("http", all_competitors(nginx_dir), OPTIONAL_MODULES)


def p99_us(runs: Sequence[Run]) -> float:
    """The median p99 latency (us) of the runs, NaN unless every run has one: wrk records one
    latency sample per pipelined batch, and its percentile walk can come up empty and print 0
    for the top percentiles then."""
    p99 = [r.extra.get("latency_p99_us", 0.0) for r in runs]
    return statistics.median(p99) if all(p99) else float("nan")


def p99_ms(row: dict[str, float], ref: dict[str, float] | None) -> str:
    return "n/a" if math.isnan(row["p99_us"]) else f"{row['p99_us'] / 1000:.2f}"


# Per (case, competitor): median req/s, p99 (us), server CPU us/req, errors (summed),
# server and wrk busy.
MEASURES: dict[str, Measure] = {
    "req_s": median_of(lambda r: r.ops_per_s),
    "p99_us": p99_us,
    "cpu_us": median_of(lambda r: r.cpu_us_per_op),
    "errors": lambda runs: sum(r.extra.get("errors", 0.0) for r in runs),
    "server_busy": median_of(lambda r: r.cpu_s / r.seconds),
    "wrk_busy": median_of(lambda r: r.extra.get("load_cpu_share", 0.0)),
}
COLUMNS: tuple[tuple[str, Cell], ...] = (
    ("req/s", value_cell("req_s", ",.0f")),
    ("p99 ms", p99_ms),
    ("cpu us/req", value_cell("cpu_us", ".2f")),
    ("req/s vs nginx", ratio_cell("req_s")),
    ("cpu/req vs nginx", ratio_cell("cpu_us")),
    ("server busy", value_cell("server_busy", ".0%")),
    ("wrk busy", value_cell("wrk_busy", ".0%")),
    ("errors", value_cell("errors", ".0f")),
)


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
                "servers": command_lines(competitors),
            }
            bench = Benchmark("http", "server", CASES, competitors, REFERENCE, meta=meta)
            results = run_benchmark(bench, options)
        except BenchError as e:
            print(f"http: {e}", file=sys.stderr)
            return 2
    stats = report_stats(results, options.out_dir, MEASURES, REFERENCE, COLUMNS)
    keepalive = stats_ratio(stats, KEEPALIVE, MEASURED, REFERENCE, "cpu_us")
    print(f"http keepalive cpu/req ratio sws/nginx: {keepalive}")
    pipelined = stats.get((PIPELINED, MEASURED))
    shown = f"{pipelined['req_s']:.0f}" if pipelined else "n/a (no runs)"
    print(f"http pipelined req/s: {shown}")
    close = stats_ratio(stats, CLOSE, MEASURED, REFERENCE, "req_s")
    print(f"http close conn/s ratio sws/nginx: {close}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
