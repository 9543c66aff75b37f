"""WebSocket echo and broadcast: server CPU per message of sws-ws against the websockets
library and aiohttp, measured in the same run, interleaved.

Each competitor is one process on cpu0 serving the three paths of `servers/ws_client.py`
(/ws echo, /sub subscribe, /pub broadcast); the client, one epoll loop over raw sockets
writing pre-masked frames, drives it from cpu1 in two cases:

- "echo": 50 connections each keep one 16-byte text message in flight (send, wait for the
  echo, send again); a message is a round trip;
- "broadcast": 1,000 subscribers and one publisher; the publisher sends a 16-byte text
  message, waits until every subscriber has it, and sends the next; a message is one
  delivery (1,000 per publish).

Competitors (reference: websockets):

- "sws": `ws_sws.py`, a `sws_ws.Server` with `@app.ws` callback classes (`ws.send`,
  `ws.subscribe`, `app.publish`), served in-process by `app.run(host, port)`;
- "websockets": `ws_websockets.py`, `websockets.asyncio.server.serve(compression=None)`
  with `websockets.broadcast`, on uvloop;
- "aiohttp": `ws_aiohttp.py`, `web.WebSocketResponse` handlers on `web.run_app`, on uvloop,
  the publisher awaiting `send_str` on each subscriber.

No client offers compression, and every server has its keepalive pings off. aiohttp is
optional (skipped, with a message, when it is not importable or does not start); without
uvloop, websockets and aiohttp run on asyncio's loop, which the output says.

The figure that matters is the server's CPU time per message: utime + stime from
/proc/PID/stat, read by the client just before its first send and just after its last
reply (so the 1,001 handshakes of the broadcast case are left out), over its messages.
The harness's own before/after reading, which covers the handshakes, is kept in each
run's `extra` as `process_cpu_s`. The last line printed is

    ws echo cpu/msg ratio sws/websockets: X.XX

(median server CPU microseconds per message of "sws" over websockets'; lower is better).
"""

from __future__ import annotations

import dataclasses
import sys

from harness import (
    MAKE_INSTALL_HINT,
    PIP_INSTALL_HINT,
    BenchError,
    Benchmark,
    Case,
    Cell,
    Competitor,
    LoadResult,
    LoadSpec,
    Measure,
    Results,
    asyncio_loop,
    check_importable,
    command_lines,
    last_json_object,
    make_parser,
    median_of,
    missing_modules,
    options_from_args,
    ratio_cell,
    report_stats,
    run_benchmark,
    script_argv,
    select_usable,
    server_argv,
    stats_ratio,
    summarize,
    value_cell,
)

REFERENCE = "websockets"
MEASURED = "sws"
ECHO = "echo"
BROADCAST = "broadcast"
CONNS = 50  # echo connections
SUBSCRIBERS = 1000
SIZE = 16  # message bytes, fixed in ws_client.py
DEFAULT_SECONDS = 5  # 2 cases x 3 servers x 5 rounds x (1 s warm-up + 5 s + set-up): ~4 min
QUICK_SECONDS = 1
WARMUP_S = 1  # an unmeasured client run before each measured one (not with --quick)

REQUIRED_MODULES = {"sws_ws": MAKE_INSTALL_HINT, "websockets": MAKE_INSTALL_HINT}
OPTIONAL_MODULES = {"aiohttp": ("aiohttp",)}


def competitors() -> tuple[Competitor, ...]:
    return (
        Competitor(MEASURED, server_argv("ws_sws.py")),
        Competitor(REFERENCE, server_argv("ws_websockets.py")),
        Competitor("aiohttp", server_argv("ws_aiohttp.py")),
    )


def client_load(mode: str, *args: str) -> LoadSpec:
    argv = script_argv(
        "ws_client.py", mode, "--port", "{port}", "--seconds", "{seconds}", "--pid", "{pid}", *args
    )
    return LoadSpec(argv=argv, parse=parse_client_report, warmup_s=WARMUP_S)


def parse_client_report(stdout: str) -> LoadResult:
    """Read the JSON line `ws_client.py` prints last.

    Raises:
        ValueError: no such line, no message in it, or no server CPU reading.
    """
    data = last_json_object(stdout, "websocket client")
    messages, seconds = data.get("messages"), data.get("seconds")
    server_cpu_s = data.get("server_cpu_s")
    if not isinstance(messages, int) or not isinstance(seconds, int | float) or seconds <= 0:
        raise ValueError(f"client report lacks messages or seconds: {stdout.strip()[-200:]!r}")
    if not isinstance(server_cpu_s, int | float):
        raise ValueError(f"client report lacks server_cpu_s (no --pid?): {stdout.strip()[-200:]!r}")
    return LoadResult(
        requests=messages,
        seconds=float(seconds),
        requests_per_s=messages / seconds,
        extra={
            "window_server_cpu_s": float(server_cpu_s),
            "window_client_cpu_s": float(data.get("client_cpu_s", 0.0)),
            "publishes": float(data.get("publishes", 0)),
            "client_cpu_s": float(data.get("cpu_seconds", 0.0)),
        },
    )


ECHO_LOAD = client_load(ECHO, "--conns", str(CONNS))
CASES = (
    Case(ECHO),  # the benchmark's load
    Case(BROADCAST, load=client_load(BROADCAST, "--subscribers", str(SUBSCRIBERS))),
)


def over_load_window(results: Results) -> Results:
    """The results with each run's server CPU taken over the client's timed window (what
    the client read from /proc) instead of the client's whole run; the harness's reading
    stays in `extra` as `process_cpu_s`."""
    runs = []
    for run in results.runs:
        cpu_s = run.extra["window_server_cpu_s"]
        extra = {**run.extra, "process_cpu_s": run.cpu_s}
        runs.append(
            dataclasses.replace(run, cpu_s=cpu_s, cpu_us_per_op=cpu_s / run.ops * 1e6, extra=extra)
        )
    summaries = tuple(summarize(runs, results.reference))
    return dataclasses.replace(results, runs=tuple(runs), summaries=summaries)


def usable_competitors() -> tuple[Competitor, ...]:
    """sws and websockets or fail; aiohttp is skipped, with a message on stderr, when it is
    not importable or its server does not start.

    Raises:
        BenchError: sws or websockets cannot run (the message names the fix).
    """
    check_importable(REQUIRED_MODULES)
    if missing_modules(["uvloop"]):
        print(
            f"ws: uvloop not importable by {sys.executable}: websockets and aiohttp run on "
            f"asyncio's loop ({PIP_INSTALL_HINT})",
            file=sys.stderr,
        )
    return select_usable("ws", competitors(), OPTIONAL_MODULES)


# Per (case, competitor): median msgs/s, server CPU us/msg, server and client busy.
MEASURES: dict[str, Measure] = {
    "msgs_s": median_of(lambda r: r.ops_per_s),
    "cpu_us": median_of(lambda r: r.cpu_us_per_op),
    "server_busy": median_of(lambda r: r.cpu_s / r.seconds),
    "client_busy": median_of(lambda r: r.extra.get("window_client_cpu_s", 0.0) / r.seconds),
}
COLUMNS: tuple[tuple[str, Cell], ...] = (
    ("msgs/s", value_cell("msgs_s", ",.0f")),
    ("server cpu us/msg", value_cell("cpu_us", ".2f")),
    ("cpu ratio", ratio_cell("cpu_us")),
    ("server busy", value_cell("server_busy", ".0%")),
    ("client busy", value_cell("client_busy", ".0%")),
)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        f"WebSocket echo ({CONNS} conns) and broadcast (1 publisher, {SUBSCRIBERS:,} "
        "subscribers), 16-byte messages: sws-ws against websockets and aiohttp.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    ns = parser.parse_args(argv)
    try:
        options = options_from_args(ns)
        chosen = usable_competitors()
        meta = {
            "echo_conns": CONNS,
            "subscribers": SUBSCRIBERS,
            "message_bytes": SIZE,
            "client": "servers/ws_client.py",
            "cpu_window": "client's timed part (handshakes excluded); see extra.process_cpu_s",
            "asyncio_loop": asyncio_loop(),
            "servers": command_lines(chosen),
        }
        bench = Benchmark("ws", "server", CASES, chosen, REFERENCE, load=ECHO_LOAD, meta=meta)
        results = over_load_window(run_benchmark(bench, options))
    except BenchError as e:
        print(f"ws: {e}", file=sys.stderr)
        return 2
    stats = report_stats(results, options.out_dir, MEASURES, REFERENCE, COLUMNS)
    shown = stats_ratio(stats, ECHO, MEASURED, REFERENCE, "cpu_us")
    print(f"ws echo cpu/msg ratio {MEASURED}/{REFERENCE}: {shown}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
