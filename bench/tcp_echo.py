"""TCP echo ping-pong: server CPU per message of sws_core against asyncio and uvloop.

50 connections each keep one 64-byte message in flight against an echo server on cpu0: the
client (`servers/echo_client.py`, one epoll loop, on cpu1) sends, waits for the same 64
bytes back, sends again, and counts round trips for `--seconds`. Competitors, each a
script in `servers/`:

- "sws": `sws_echo.py --mode protocol`, a `TcpProtocol` whose `data_received` calls
  `conn.write(data)`: the callback fast path, no fiber per message;
- "sws-fiber": `sws_echo.py --mode fiber`, the fiber handler of `sws_core.examples.echo`
  (`yield from conn.receive()` / `yield from conn.send(data)`);
- "asyncio": `asyncio_echo.py`, an `asyncio.Protocol` echo on the stdlib event loop;
- "uvloop": `uvloop_echo.py`, the same Protocol class on uvloop (the reference).

The figure that matters is the server's CPU time per message (utime + stime from
/proc/PID/stat over the client's run, divided by its round trips): it does not depend on
how fast the client is. msgs/s is shown too, but a Python client on one core bounds it.
The last line printed is

    tcp echo cpu/msg ratio sws/uvloop: X.XX

(median server CPU microseconds per message of "sws" over uvloop's; lower is better).
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

CONNS = 50
SIZE = 64
CASE = f"{CONNS} conns x {SIZE} B"
REFERENCE = "uvloop"
MEASURED = "sws"
DEFAULT_SECONDS = 5
QUICK_SECONDS = 1
WARMUP_S = 1  # an unmeasured client run before each measured one (not with --quick)


def competitors() -> tuple[Competitor, ...]:
    return (
        Competitor("sws", server_argv("sws_echo.py", "--mode", "protocol")),
        Competitor("sws-fiber", server_argv("sws_echo.py", "--mode", "fiber")),
        Competitor("asyncio", server_argv("asyncio_echo.py")),
        Competitor("uvloop", server_argv("uvloop_echo.py")),
    )


def client_load() -> LoadSpec:
    argv = script_argv(
        "echo_client.py",
        "--port",
        "{port}",
        "--seconds",
        "{seconds}",
        "--conns",
        str(CONNS),
        "--size",
        str(SIZE),
    )
    return LoadSpec(argv=argv, parse=parse_client_report, warmup_s=WARMUP_S)


def parse_client_report(stdout: str) -> LoadResult:
    """Read the JSON line `echo_client.py` prints last.

    Raises:
        ValueError: no such line, or no round trip in it.
    """
    data = last_json_object(stdout, "echo client")
    round_trips, seconds = data.get("round_trips"), data.get("seconds")
    if not isinstance(round_trips, int) or not isinstance(seconds, int | float) or seconds <= 0:
        raise ValueError(f"client report lacks round_trips or seconds: {stdout.strip()[-200:]!r}")
    return LoadResult(
        requests=round_trips,
        seconds=float(seconds),
        requests_per_s=round_trips / seconds,
        errors=int(data.get("errors", 0)),
        extra={"client_cpu_s": float(data.get("cpu_seconds", 0.0))},
    )


def cpu_table(results: Results) -> tuple[str, dict[str, float]]:
    """Per competitor: msgs/s, server CPU us/msg and its ratio to the reference, and how
    busy server and client were. Returns the table and the median us/msg of each."""
    runs = runs_by_competitor(results)
    us = {name: statistics.median(r.cpu_us_per_op for r in group) for name, group in runs.items()}
    ref = us.get(REFERENCE)
    header = ("competitor", "msgs/s", "server cpu us/msg", "cpu ratio", "server busy")
    rows = [(*header, "client busy")]
    for name, group in runs.items():
        server_busy = statistics.median(r.cpu_s / r.seconds for r in group)
        client_busy = statistics.median(r.extra.get("load_cpu_share", 0.0) for r in group)
        rows.append(
            (
                name,
                f"{statistics.median(r.ops_per_s for r in group):,.0f}",
                f"{us[name]:.2f}",
                f"{us[name] / ref:.2f}" if ref else "-",
                f"{server_busy:.0%}",
                f"{client_busy:.0%}",
            )
        )
    return format_rows(rows, left_columns=1), us


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        f"TCP echo ping-pong, {CONNS} connections x {SIZE} B: sws_core against asyncio/uvloop.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    ns = parser.parse_args(argv)
    try:
        options = options_from_args(ns)
        check_importable(ECHO_SERVER_HINTS)
        meta = {"conns": CONNS, "message_bytes": SIZE, "client": "servers/echo_client.py"}
        bench = Benchmark(
            "tcp_echo",
            "server",
            (Case(CASE),),
            competitors(),
            REFERENCE,
            load=client_load(),
            meta=meta,
        )
        results = run_benchmark(bench, options)
    except BenchError as e:
        print(f"tcp_echo: {e}", file=sys.stderr)
        return 2
    report(results, options.out_dir)
    table, us = cpu_table(results)
    print()
    print(table)
    shown = shown_ratio(us.get(MEASURED), us.get(REFERENCE))
    print(f"tcp echo cpu/msg ratio {MEASURED}/{REFERENCE}: {shown}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
