"""DNS lookups: sws-client's `DnsResolver` against aiodns, the resolver being what is measured.

A UDP responder (`servers/dns_server.py`: one blocking socket, every A question answered at
once with 192.0.2.1, TTL 300 s) runs on 127.0.0.1 on cpu1 for the whole run; each
competitor is a job on cpu0 that resolves for `--seconds` after a warm-up, in two cases:

- "cached": one lookup at a time of the same name, `cached.bench.test`: after the first,
  each is answered from a cache;
- "uncached": 32 lookups in flight, each of a name never asked before (`n<i>.bench.test`):
  each is one UDP query and its answer.

Competitors (reference: aiodns):

- "sws": `DnsResolver(conf=ResolvConf(nameservers=(("127.0.0.1", port),)))`, lookups as
  fibers on an sws_core `Loop`, `yield from resolver.resolve_on_loop(name, family=AF_INET)`
  (`servers/dns_sws.py`);
- "aiodns": `aiodns.DNSResolver(nameservers=["127.0.0.1:port"])` on uvloop, asyncio tasks
  awaiting `query_dns(name, "A")` (`servers/dns_aiodns.py`).

Both ask for A records only: one question per lookup. aiodns has no cache of its own, but
c-ares (1.23 and later, pycares 5 ships 1.34) caches answers by their TTL by default, so
its "cached" case is a cache too: the responder sees one query per run. Each job measures
itself (`servers/measured_window.py`): lookups completed in its window and its own CPU time
(utime + stime of all its threads from /proc/self/stat: c-ares's event thread counts).
aiodns is required (`pip install -r bench/requirements.txt`). Besides the harness table it
prints lookups/s and CPU us per lookup with their ratios to aiodns, the responder's CPU per
query, and ends with

    dns uncached lookups/s ratio sws/aiodns: X.XX

(median lookups/s of sws over aiodns's in the uncached case; higher is better).
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from harness import (
    DEFAULT_PORT_WAIT_S,
    LOAD_CPU,
    MAKE_INSTALL_HINT,
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
    make_parser,
    median_of,
    missing_modules,
    options_from_args,
    ratio_cell,
    report_stats,
    run_benchmark_beside,
    script_argv,
    select_usable_jobs,
    spawn,
    stats_ratio,
    stop_process,
    value_cell,
    window_job_argv,
)

REFERENCE = "aiodns"
MEASURED = "sws"
CONCURRENCY = 32
CACHED = "cached"
UNCACHED = "uncached"
CASES = (Case(CACHED, {"mode": "cached"}), Case(UNCACHED, {"mode": "uncached"}))
DEFAULT_SECONDS = 3  # 2 cases x 2 resolvers x 5 rounds x (0.5 s warm-up + 3 s + start): ~1.5 min
QUICK_SECONDS = 1
WARMUP_S = 0.5  # the cache filled, code paths warm; not measured
QUICK_WARMUP_S = 0.2
PROBE_SECONDS = 0.2  # each resolver once, before the rounds

REQUIRED_MODULES = {"sws_client": MAKE_INSTALL_HINT, "aiodns": PIP_INSTALL_HINT}


@contextmanager
def responder_on_load_cpu() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """The responder on cpu1, bound to a free UDP port it reports on its first stdout line;
    stopped by its PID on the way out. Yields the process and its port."""
    argv = script_argv("dns_server.py", "--port", "0")
    proc = spawn(argv, cpu=LOAD_CPU, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], DEFAULT_PORT_WAIT_S)
        line = proc.stdout.readline() if ready else b""
        try:
            port = int(json.loads(line)["port"])
        except (ValueError, KeyError, TypeError):
            raise BenchError(f"dns responder did not start: {line[:300]!r}") from None
        yield proc, port
    finally:
        stop_process(proc)


def queries_answered(proc: subprocess.Popen[bytes]) -> int | None:
    """What the stopped responder printed last: queries answered (None if it did not say)."""
    assert proc.stdout is not None
    lines = proc.stdout.read().splitlines()
    try:
        return int(json.loads(lines[-1])["queries"])
    except (IndexError, ValueError, KeyError, TypeError):
        return None


def competitors(port: int, seconds: float, warmup_s: float) -> list[Competitor]:
    def job(script: str) -> tuple[str, ...]:
        return window_job_argv(script, ("--port", str(port)), CONCURRENCY, seconds, warmup_s)

    return [
        Competitor(MEASURED, job("dns_sws.py")),
        Competitor(REFERENCE, job("dns_aiodns.py")),
    ]


def usable_competitors(port: int, options: Options) -> tuple[Competitor, ...]:
    """Both resolvers, each probed once (a short uncached run).

    Raises:
        BenchError: one of them cannot run (the message names the fix).
    """
    check_importable(REQUIRED_MODULES)
    if missing_modules(["uvloop"]):
        print(
            f"dns: uvloop missing, aiodns on asyncio's loop ({PIP_INSTALL_HINT})", file=sys.stderr
        )
    warmup_s = QUICK_WARMUP_S if options.quick else WARMUP_S
    return select_usable_jobs(
        "dns",
        competitors(port, options.seconds, warmup_s),
        competitors(port, PROBE_SECONDS, 0.05),
        {},  # none is optional
        CASES[1],
        options.run_timeout_s,
    )


# Per (case, competitor): median lookups/s, CPU us/lookup and share of cpu0 busy.
MEASURES: dict[str, Measure] = {
    "lookups_s": median_of(lambda r: r.ops_per_s),
    "cpu_us": median_of(lambda r: r.cpu_us_per_op),
    "busy": median_of(lambda r: r.cpu_s / r.seconds),
}
COLUMNS: tuple[tuple[str, Cell], ...] = (
    ("lookups/s", value_cell("lookups_s", ",.0f")),
    ("cpu us/lookup", value_cell("cpu_us", ".2f")),
    ("lookups/s vs aiodns", ratio_cell("lookups_s")),
    ("cpu/lookup vs aiodns", ratio_cell("cpu_us")),
    ("resolver busy", value_cell("busy", ".0%")),
)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        f"DNS A lookups (cached; uncached with {CONCURRENCY} in flight) against a local UDP "
        "responder: sws-client's DnsResolver against aiodns, resolver CPU per lookup.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    ns = parser.parse_args(argv)
    try:
        options = options_from_args(ns)
        with responder_on_load_cpu() as (responder, port):
            chosen = usable_competitors(port, options)
            meta = {
                "concurrency": CONCURRENCY,
                "server": "servers/dns_server.py on cpu1: every A question -> 192.0.2.1, TTL 300",
                "asyncio_loop": asyncio_loop(),
                "resolvers": command_lines(chosen),
            }
            bench = Benchmark("dns", "job", CASES, chosen, REFERENCE, meta=meta)
            results, responder_s = run_benchmark_beside(bench, options, responder.pid)
        queries = queries_answered(responder)
    except BenchError as e:
        print(f"dns: {e}", file=sys.stderr)
        return 2
    stats = report_stats(results, options.out_dir, MEASURES, REFERENCE, COLUMNS)
    if queries:
        print(
            f"responder (cpu1): {queries:,} queries, {responder_s:.1f} s CPU over the rounds "
            f"(about {responder_s / queries * 1e6:.1f} us per query)"
        )
    shown = stats_ratio(stats, UNCACHED, MEASURED, REFERENCE, "lookups_s")
    print(f"dns uncached lookups/s ratio sws/aiodns: {shown}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
