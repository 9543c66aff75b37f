"""Memory per idle connection: server RSS growth with 10,000 open connections.

Each server (the echo servers of `servers/`, on cpu0, started with RLIMIT_NOFILE raised to
its hard limit and, for sws, 16384 connection slots) is loaded by `servers/idle_client.py`
on cpu1, which

1. reads the server's VmRSS from /proc/PID/status,
2. opens `--conns` connections in batches of 500, echoing one byte on each connection of a
   batch before the next batch starts,
3. holds them all idle for `--seconds`, reads VmRSS again and checks the server closed none,
4. closes them all.

The figure is (VmRSS after - VmRSS before) / connections, in bytes: what one more idle but
established connection costs the server process (kernel socket memory is not in RSS, and
is the same for every server). Competitors: "sws" (`sws_echo.py --mode protocol`, a
`TcpProtocol`), "sws-fiber" (`--mode fiber`, a parked generator per connection), "asyncio"
(an `asyncio.Protocol`, the reference) and "uvloop" (the same Protocol on uvloop). The
harness's own table beside it reads connections per second for step 2 as ops/s and server
CPU per connection as cpu us/op (closes the server handles after the client exits are not
in it). The last line printed is

    idle conn rss ratio sws/asyncio: X.XX
"""

from __future__ import annotations

import statistics
import sys

from harness import (
    ECHO_SERVER_HINTS,
    BenchError,
    Benchmark,
    Case,
    Competitor,
    LoadResult,
    LoadSpec,
    Results,
    Run,
    check_importable,
    format_rows,
    last_json_object,
    make_parser,
    options_from_args,
    report,
    run_benchmark,
    runs_by_competitor,
    script_argv,
    server_argv,
    shown_ratio,
)

DEFAULT_CONNS = 10_000
BATCH = 500  # connections opened at once; well under the servers' listen backlog of 1024
REFERENCE = "asyncio"
MEASURED = "sws"
DEFAULT_SECONDS = 2  # idle hold before reading RSS
QUICK_SECONDS = 1
MAX_CONNECTIONS = 16_384  # sws slots; >= the connections opened


def competitors() -> tuple[Competitor, ...]:
    slots = ("--max-connections", str(MAX_CONNECTIONS))
    return (
        Competitor("sws", server_argv("sws_echo.py", "--mode", "protocol", *slots)),
        Competitor("sws-fiber", server_argv("sws_echo.py", "--mode", "fiber", *slots)),
        Competitor("asyncio", server_argv("asyncio_echo.py")),
        Competitor("uvloop", server_argv("uvloop_echo.py")),
    )


def client_load(conns: int) -> LoadSpec:
    argv = script_argv(
        "idle_client.py",
        "--port",
        "{port}",
        "--pid",
        "{pid}",
        "--conns",
        str(conns),
        "--batch",
        str(BATCH),
        "--hold",
        "{seconds}",
    )
    return LoadSpec(argv=argv, parse=parse_client_report)


def parse_client_report(stdout: str) -> LoadResult:
    """Read the JSON line `idle_client.py` prints last.

    Raises:
        ValueError: no such line, a field missing, or the server closed idle connections.
    """
    data = last_json_object(stdout, "idle client")
    fields = ("conns", "rss_before_kib", "rss_after_kib", "rss_bytes_per_conn", "connect_seconds")
    if not all(isinstance(data.get(k), int | float) for k in fields):
        raise ValueError(f"not an idle client report: {stdout.strip()[-300:]!r}")
    if data.get("closed_early"):
        raise ValueError(f"the server closed {data['closed_early']} idle connections")
    conns, seconds = int(data["conns"]), float(data["connect_seconds"])
    return LoadResult(
        requests=conns,
        seconds=seconds,
        requests_per_s=conns / seconds if seconds > 0 else 0.0,
        extra={k: float(data[k]) for k in fields[1:4]},
    )


def rss_table(results: Results) -> tuple[str, dict[str, float]]:
    """Per competitor: RSS before and after (median MiB), bytes per connection (median and
    min-max) and its ratio to the reference. Returns the table and the median bytes/conn."""
    runs = runs_by_competitor(results)

    def median(group: list[Run], key: str) -> float:
        return statistics.median(r.extra[key] for r in group)

    per_conn = {name: median(group, "rss_bytes_per_conn") for name, group in runs.items()}
    ref = per_conn.get(REFERENCE)
    header = ("competitor", "rss before MiB", "rss after MiB", "bytes/conn", "min-max", "ratio")
    rows = [header]
    for name, group in runs.items():
        values = [r.extra["rss_bytes_per_conn"] for r in group]
        rows.append(
            (
                name,
                f"{median(group, 'rss_before_kib') / 1024:.1f}",
                f"{median(group, 'rss_after_kib') / 1024:.1f}",
                f"{per_conn[name]:,.0f}",
                f"{min(values):,.0f}-{max(values):,.0f}",
                f"{per_conn[name] / ref:.2f}" if ref else "-",
            )
        )
    return format_rows(rows, left_columns=1), per_conn


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "Server RSS per idle connection (10,000 connections): sws_core against asyncio/uvloop.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    parser.add_argument(
        "--conns",
        type=int,
        default=DEFAULT_CONNS,
        help=f"connections held open (default {DEFAULT_CONNS:,}, at most {MAX_CONNECTIONS:,})",
    )
    ns = parser.parse_args(argv)
    if not 1 <= ns.conns <= MAX_CONNECTIONS:
        parser.error(f"--conns must be in 1..{MAX_CONNECTIONS}")
    try:
        options = options_from_args(ns)
        check_importable(ECHO_SERVER_HINTS)
        meta = {"conns": ns.conns, "batch": BATCH, "client": "servers/idle_client.py"}
        bench = Benchmark(
            "idle_conns",
            "server",
            (Case(f"{ns.conns} idle conns"),),
            competitors(),
            REFERENCE,
            load=client_load(ns.conns),
            meta=meta,
        )
        results = run_benchmark(bench, options)
    except BenchError as e:
        print(f"idle_conns: {e}", file=sys.stderr)
        return 2
    report(results, options.out_dir)
    table, per_conn = rss_table(results)
    print()
    print(table)
    shown = shown_ratio(per_conn.get(MEASURED), per_conn.get(REFERENCE))
    print(f"idle conn rss ratio {MEASURED}/{REFERENCE}: {shown}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
