"""HTTP client GETs: sws-client against httpx and aiohttp, the client being what is measured.

One nginx process (`servers/http_nginx.py`, one worker, `return 200 "hello"`, keep-alive
requests unbounded) serves 127.0.0.1 on cpu1 for the whole run; each competitor is a job on
cpu0 (`servers/client_*.py`) that GETs it for `--seconds` after a warm-up, in two cases:

- "sequential": one request at a time on one keep-alive connection;
- "concurrent32": 32 requests in flight at once, on 32 keep-alive connections.

Competitors (reference: aiohttp):

- "sws-client": `HttpClient`; sequential from a plain thread with `client.get(url)`;
  concurrent as 32 fibers on an sws_core `Loop` doing `yield from client.fetch("GET", url)`
  (faster than 32 plain threads calling `get`, which `--sws-style threads` measures);
- "httpx": the sync `httpx.Client` (sequential), one `AsyncClient` shared by 32 asyncio
  tasks (concurrent), on uvloop;
- "aiohttp": one `ClientSession`, 1 or 32 tasks, on uvloop.

Every client keeps 32 connections alive (sws-client's and httpx's idle limits are raised to
32) and checks every response. Each job measures itself (`servers/measured_window.py`):
requests completed in its window and its own CPU time over the window (utime + stime of
all its threads from /proc/self/stat, so sws-client's loop thread counts). nginx must be
installed (the script says so and skips otherwise); httpx is skipped when missing. Besides
the harness table it prints req/s and client CPU us per request with their ratios to
aiohttp, and ends with

    client req/s ratio sws/aiohttp: X.XX

(median req/s of sws-client over aiohttp's in the concurrent32 case; higher is better).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from harness import (
    DEFAULT_PORT_WAIT_S,
    LOAD_CPU,
    LOOPBACK,
    MAKE_INSTALL_HINT,
    NGINX_INSTALL_HINT,
    PIP_INSTALL_HINT,
    BenchError,
    Benchmark,
    Case,
    Cell,
    Competitor,
    Measure,
    Options,
    asyncio_loop,
    check_importable,
    command_lines,
    find_nginx,
    free_port,
    make_parser,
    median_of,
    missing_modules,
    options_from_args,
    ratio_cell,
    report_stats,
    run_benchmark_beside,
    script_argv,
    select_usable_jobs,
    serving,
    stats_ratio,
    value_cell,
    window_job_argv,
)

REFERENCE = "aiohttp"
MEASURED = "sws-client"
CONCURRENCY = 32
SEQUENTIAL = "sequential"
CONCURRENT = f"concurrent{CONCURRENCY}"
CASES = (
    Case(SEQUENTIAL, {"mode": "sequential"}),
    Case(CONCURRENT, {"mode": "concurrent"}),
)
DEFAULT_SECONDS = 3  # 2 cases x 3 clients x 5 rounds x (0.5 s warm-up + 3 s + start): ~2 min
QUICK_SECONDS = 1
WARMUP_S = 0.5  # connections opened, code paths warm; not measured
QUICK_WARMUP_S = 0.2
PROBE_SECONDS = 0.2  # each client once, before the rounds, to skip one that cannot run

REQUIRED_MODULES = {"sws_client": MAKE_INSTALL_HINT, "aiohttp": PIP_INSTALL_HINT}
OPTIONAL_MODULES = {"httpx": ("httpx",)}


@contextmanager
def nginx_on_load_cpu(nginx_dir: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """nginx on cpu1 (cpu0 is the measured jobs'), accepting on a free port; stopped by its
    PID on the way out."""
    port = free_port()
    argv = script_argv("http_nginx.py", "--port", str(port), "--dir", str(nginx_dir))
    nginx = serving(argv, port, env={}, start_timeout_s=DEFAULT_PORT_WAIT_S, cpu=LOAD_CPU)
    with nginx as (proc, _log):
        yield proc, port


def competitors(url: str, seconds: float, warmup_s: float, sws_style: str) -> list[Competitor]:
    def job(script: str, *args: str) -> tuple[str, ...]:
        return window_job_argv(script, ("--url", url), CONCURRENCY, seconds, warmup_s, *args)

    return [
        Competitor(MEASURED, job("client_sws.py", "--style", sws_style)),
        Competitor("httpx", job("client_httpx.py")),
        Competitor(REFERENCE, job("client_aiohttp.py")),
    ]


def usable_competitors(url: str, options: Options, sws_style: str) -> tuple[Competitor, ...]:
    """sws-client and aiohttp or fail; httpx is skipped, with a message on stderr, when it
    is missing or its probe run fails. Each client is probed once (a short concurrent run).

    Raises:
        BenchError: sws-client or aiohttp cannot run (the message names the fix).
    """
    check_importable(REQUIRED_MODULES)
    if missing_modules(["uvloop"]):
        print(
            f"client: uvloop missing, asyncio clients on asyncio's loop ({PIP_INSTALL_HINT})",
            file=sys.stderr,
        )
    warmup_s = QUICK_WARMUP_S if options.quick else WARMUP_S
    return select_usable_jobs(
        "client",
        competitors(url, options.seconds, warmup_s, sws_style),
        competitors(url, PROBE_SECONDS, 0.05, sws_style),
        OPTIONAL_MODULES,
        CASES[1],
        options.run_timeout_s,
    )


# Per (case, competitor): median req/s, client CPU us/req and share of cpu0 busy.
MEASURES: dict[str, Measure] = {
    "req_s": median_of(lambda r: r.ops_per_s),
    "cpu_us": median_of(lambda r: r.cpu_us_per_op),
    "busy": median_of(lambda r: r.cpu_s / r.seconds),
}
COLUMNS: tuple[tuple[str, Cell], ...] = (
    ("req/s", value_cell("req_s", ",.0f")),
    ("client cpu us/req", value_cell("cpu_us", ".1f")),
    ("req/s vs aiohttp", ratio_cell("req_s")),
    ("cpu/req vs aiohttp", ratio_cell("cpu_us")),
    ("client busy", value_cell("busy", ".0%")),
)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        f"HTTP client GETs (sequential, {CONCURRENCY} in flight) against a local nginx: "
        "sws-client against httpx and aiohttp, client CPU per request.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    parser.add_argument(
        "--sws-style",
        choices=("fibers", "threads"),
        default="fibers",
        help="sws-client's concurrent case: 32 fibers on a Loop (default) or 32 threads",
    )
    ns = parser.parse_args(argv)
    if find_nginx() is None:
        print(f"client: skipped: nginx not found ({NGINX_INSTALL_HINT})", file=sys.stderr)
        print("client req/s ratio sws/aiohttp: n/a (nginx missing)")
        return 0
    with tempfile.TemporaryDirectory(prefix="sws-bench-client-") as nginx_dir:
        try:
            options = options_from_args(ns)
            with nginx_on_load_cpu(Path(nginx_dir)) as (nginx, port):
                url = f"http://{LOOPBACK}:{port}/"
                chosen = usable_competitors(url, options, ns.sws_style)
                meta = {
                    "concurrency": CONCURRENCY,
                    "server": "nginx on cpu1 (servers/http_nginx.py), GET / -> 200 hello",
                    "sws_style": ns.sws_style,
                    "asyncio_loop": asyncio_loop(),
                    "clients": command_lines(chosen),
                }
                bench = Benchmark("client", "job", CASES, chosen, REFERENCE, meta=meta)
                results, nginx_s = run_benchmark_beside(bench, options, nginx.pid)
        except BenchError as e:
            print(f"client: {e}", file=sys.stderr)
            return 2
    stats = report_stats(results, options.out_dir, MEASURES, REFERENCE, COLUMNS)
    requests = sum(r.ops for r in results.runs)
    print(
        f"nginx (cpu1): {nginx_s:.1f} s CPU over the rounds, "
        f"{nginx_s / requests * 1e6:.1f} us per counted request (warm-ups included)"
    )
    shown = stats_ratio(stats, CONCURRENT, MEASURED, REFERENCE, "req_s")
    print(f"client req/s ratio sws/aiohttp: {shown}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
