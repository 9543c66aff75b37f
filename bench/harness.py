"""Benchmark harness: competitors measured side by side on a shared two-core machine.

Rules that hold in this module (and so in every benchmark built on it):

- The measured process (a server, or a job doing a fixed amount of work) runs on cpu0
  (`taskset -c 0`); the load generator (wrk) runs on cpu1 (`taskset -c 1`), and so does this
  harness, which only sleeps while something is measured.
- The machine is shared and noisy, so absolute numbers are not compared across runs. The
  competitors of a case run interleaved, round r in the order rotated by r (A B C, B C A,
  C A B, ...), so drift falls on all of them alike, and each is reported as a ratio to a
  reference competitor measured in the same run.
- CPU per operation is the measured process's own CPU time. For a server: utime + stime of
  all its threads from /proc/PID/stat (in SC_CLK_TCK ticks), sampled before and after the
  load. For a job: `os.wait4` rusage, which includes interpreter start-up, unless the job
  reports `cpu_seconds` (time.process_time of its timed part), which is preferred.
- A job prints, as the last line of its stdout, one JSON object:
  `{"ops": N, "seconds": wall_s_of_timed_part, "cpu_seconds": optional}` (`emit_job_report`).
- Everything is bounded: each process has a timeout, the benchmark a deadline (checked before
  each run, so it is overrun by one run's timeout at most), servers listen on 127.0.0.1 only.
- Every process is started with subprocess.Popen, tracked by its PID and stopped by that PID
  in a finally block (SIGTERM, wait, SIGKILL); never by name. It also gets PR_SET_PDEATHSIG,
  so it dies with the harness even if the harness is killed with SIGKILL.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import json
import os
import platform
import re
import resource
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any, Literal, TypeVar, assert_never

MEASURED_CPU = 0  # the server or job under test
LOAD_CPU = 1  # the load generator and this harness
LOOPBACK = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")  # /proc/PID/stat time unit, 100 on Linux

DEFAULT_ROUNDS = 5
DEFAULT_QUICK_ROUNDS = 2
DEFAULT_OUT_DIR = Path(__file__).resolve().parent / "results"  # git-ignored
SERVERS_DIR = Path(__file__).resolve().parent / "servers"  # the competitors' and clients' scripts
DEFAULT_DEADLINE_S = 900.0  # whole benchmark; checked before each run
DEFAULT_STOP_GRACE_S = 5.0  # SIGTERM, then SIGKILL after this long
DEFAULT_PORT_WAIT_S = 10.0  # a server must accept connections within this
DEFAULT_TAIL_BYTES = 2000  # of a failed process's output, quoted in the error

WRK_INSTALL_HINT = "install it with `apt-get install wrk`"
NGINX_INSTALL_HINT = "install it with `apt-get install -y nginx`"
MAKE_INSTALL_HINT = "run `make install` (installs the packages editable into .venv)"
PIP_INSTALL_HINT = "pip install -r bench/requirements.txt"
# The modules the echo servers of servers/ import (tcp_echo.py, idle_conns.py), and their fix.
ECHO_SERVER_HINTS: Mapping[str, str] = {
    "sws_core": MAKE_INSTALL_HINT,
    "uvloop": f"run `make bench`, or `{PIP_INSTALL_HINT}`",
}

T = TypeVar("T")


class BenchError(RuntimeError):
    """A benchmark cannot start or a run failed; the message says why and what to do."""


# ---------------------------------------------------------------------------------------------
# Pure parsing


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/PID/stat the harness uses. Times are in CLK_TCK ticks and cover
    all threads of the process (not its children). See: proc_pid_stat(5)."""

    pid: int
    comm: str
    state: str
    utime_ticks: int
    stime_ticks: int
    num_threads: int

    @property
    def cpu_ticks(self) -> int:
        return self.utime_ticks + self.stime_ticks


def parse_proc_stat(text: str) -> ProcStat:
    """Parse the one line of /proc/PID/stat.

    `comm` is in parentheses and may itself hold spaces and parentheses, so it ends at the
    last `)` of the line; the fields after it are space-separated. proc_pid_stat(5) numbers
    them from 1: state (3), utime (14), stime (15), num_threads (20).

    Raises:
        ValueError: the text is not a stat line.
    """
    open_paren = text.find("(")
    close_paren = text.rfind(")")
    if open_paren <= 0 or close_paren < open_paren:
        raise ValueError(f"not a /proc/PID/stat line: {text[:80]!r}")
    rest = text[close_paren + 2 :].split()
    if len(rest) < 18:
        raise ValueError(f"/proc/PID/stat line has {len(rest) + 2} fields, expected 20+")
    return ProcStat(
        pid=int(text[:open_paren]),
        comm=text[open_paren + 1 : close_paren],
        state=rest[0],
        utime_ticks=int(rest[11]),
        stime_ticks=int(rest[12]),
        num_threads=int(rest[17]),
    )


def read_proc_stat(pid: int) -> ProcStat:
    with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as f:
        return parse_proc_stat(f.read())


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a load generator reports: `requests` completed in `seconds`."""

    requests: int
    seconds: float
    requests_per_s: float
    errors: int = 0  # socket errors plus non-2xx/3xx responses
    latency_us: Mapping[str, float] = field(default_factory=dict)  # "p50" -> microseconds
    extra: Mapping[str, float] = field(default_factory=dict)  # copied into Run.extra as is


_TIME_UNIT_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_WRK_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),", re.MULTILINE)
_WRK_RATE = re.compile(r"^Requests/sec:\s*([\d.]+)", re.MULTILINE)
_WRK_SOCKET_ERRORS = re.compile(
    r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)"
)
_WRK_BAD_STATUS = re.compile(r"Non-2xx or 3xx responses: (\d+)")
_WRK_PERCENTILE = re.compile(r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)


def parse_wrk_output(text: str) -> LoadResult:
    """Parse the report wrk prints (`--latency` adds the percentile lines).

    Raises:
        ValueError: the text has no "N requests in T" or no "Requests/sec:" line.
    """
    total = _WRK_TOTAL.search(text)
    rate = _WRK_RATE.search(text)
    if total is None or rate is None:
        raise ValueError(f"no wrk summary in output: {text[-300:]!r}")
    errors = sum(int(n) for m in _WRK_SOCKET_ERRORS.finditer(text) for n in m.groups())
    errors += sum(int(m.group(1)) for m in _WRK_BAD_STATUS.finditer(text))
    latency_us = {
        f"p{m.group(1).removesuffix('.0')}": round(
            float(m.group(2)) * _TIME_UNIT_S[m.group(3)] * 1e6, 3
        )
        for m in _WRK_PERCENTILE.finditer(text)
    }
    return LoadResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * _TIME_UNIT_S[total.group(3)],
        requests_per_s=float(rate.group(1)),
        errors=errors,
        latency_us=latency_us,
    )


@dataclass(frozen=True, slots=True)
class JobReport:
    ops: int
    seconds: float
    cpu_seconds: float | None = None


def parse_job_report(stdout: str) -> JobReport:
    """Parse the JSON object a job prints as the last non-empty line of its stdout.

    Raises:
        ValueError: no such line, or `ops`/`seconds` missing or not positive.
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError("job printed nothing; its last stdout line must be a JSON report")
    try:
        data = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        raise ValueError(f"last stdout line is not JSON: {lines[-1][:200]!r}") from e
    if not isinstance(data, dict):
        raise ValueError(f"job report is not a JSON object: {lines[-1][:200]!r}")
    ops, seconds, cpu = data.get("ops"), data.get("seconds"), data.get("cpu_seconds")
    if not isinstance(ops, int) or ops <= 0:
        raise ValueError(f"job report needs a positive integer 'ops', got {ops!r}")
    if not isinstance(seconds, int | float) or seconds <= 0:
        raise ValueError(f"job report needs positive 'seconds', got {seconds!r}")
    if cpu is not None and (not isinstance(cpu, int | float) or cpu < 0):
        raise ValueError(f"job report 'cpu_seconds' must be a non-negative number, got {cpu!r}")
    return JobReport(ops, float(seconds), None if cpu is None else float(cpu))


def emit_job_report(ops: int, seconds: float, cpu_seconds: float | None = None) -> None:
    """Print a job's report as the last line of its stdout (see parse_job_report)."""
    report: dict[str, float] = {"ops": ops, "seconds": seconds}
    if cpu_seconds is not None:
        report["cpu_seconds"] = cpu_seconds
    print(json.dumps(report), flush=True)


# ---------------------------------------------------------------------------------------------
# What is measured, and the statistics over it


@dataclass(frozen=True, slots=True)
class Competitor:
    """One contender. `argv` may hold `{name}` placeholders, filled from the case's params
    and, in server mode, `{port}` (a free port on 127.0.0.1 the server must listen on)."""

    name: str
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)  # added to the harness's env


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """The load generator of server mode: wrk unless `argv` is given.

    A custom `argv` may use `{port}`, `{seconds}` (whole seconds), `{url}` and `{pid}` (the
    server's PID, e.g. to read its /proc/PID/status), and needs a `parse` that reads its
    stdout; the `extra` of the `LoadResult` it returns lands in each run's `extra`. The
    other fields are wrk's: `extra_args` are options (`-H ...`, `--timeout 2s`) placed
    before the URL; `script` is a Lua script (e.g. for pipelining) and `script_args` its
    arguments, placed after the URL and `--`.
    """

    threads: int = 1
    connections: int = 64
    path: str = "/"
    script: Path | None = None
    extra_args: tuple[str, ...] = ()
    script_args: tuple[str, ...] = ()
    argv: tuple[str, ...] | None = None
    parse: Callable[[str], LoadResult] = parse_wrk_output
    warmup_s: int = 0  # an unmeasured load run before the measured one

    def command(self, port: int, seconds: int, pid: int = 0) -> list[str]:
        url = f"http://{LOOPBACK}:{port}{self.path}"
        if self.argv is not None:
            return expand(self.argv, {"port": port, "seconds": seconds, "url": url, "pid": pid})
        script = ["-s", str(self.script)] if self.script is not None else []
        return [
            "wrk",
            f"-t{self.threads}",
            f"-c{self.connections}",
            f"-d{seconds}s",
            "--latency",
            *script,
            *self.extra_args,
            url,
            *(("--", *self.script_args) if self.script_args else ()),
        ]


@dataclass(frozen=True, slots=True)
class Case:
    """One configuration all competitors are measured in, e.g. "batch 32"."""

    name: str
    params: Mapping[str, object] = field(default_factory=dict)  # fills argv placeholders
    load: LoadSpec | None = None  # server mode: replaces the benchmark's load


@dataclass(frozen=True, slots=True)
class Benchmark:
    name: str  # names the result files
    mode: Literal["job", "server"]
    cases: tuple[Case, ...]
    competitors: tuple[Competitor, ...]
    reference: str  # the competitor every ratio divides by
    load: LoadSpec = LoadSpec()
    meta: Mapping[str, object] = field(default_factory=dict)  # written to the JSON as is


@dataclass(frozen=True, slots=True)
class Run:
    """One measurement of one competitor in one case and round."""

    case: str
    competitor: str
    round: int
    ops: int
    seconds: float
    ops_per_s: float
    cpu_s: float
    cpu_us_per_op: float
    cpu_source: Literal["proc", "rusage", "job"]
    extra: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Summary:
    case: str
    competitor: str
    runs: int
    median_ops_per_s: float
    min_ops_per_s: float
    max_ops_per_s: float
    median_cpu_us_per_op: float
    ratio: float | None  # median ops/s over the reference's; None without a reference run


def rotate(items: Sequence[T], round_index: int) -> list[T]:
    """The order to run `items` in round `round_index`: rotated left by the round."""
    if not items:
        return []
    k = round_index % len(items)
    return [*items[k:], *items[:k]]


def schedule(
    cases: Sequence[Case], competitors: Sequence[Competitor], rounds: int
) -> Iterator[tuple[int, Case, Competitor]]:
    """The order of all runs: round by round, each round every case, and in each case the
    competitors rotated by the round, so no competitor always runs first or right after
    another one."""
    for r in range(rounds):
        for case in cases:
            for competitor in rotate(competitors, r):
                yield r, case, competitor


def expand(argv: Sequence[str], params: Mapping[str, object]) -> list[str]:
    """Replace `{name}` for each known name; other braces (Lua, JSON) are left alone."""
    out = []
    for arg in argv:
        for key, value in params.items():
            arg = arg.replace("{" + key + "}", str(value))
        out.append(arg)
    return out


def _unique(values: Iterator[str]) -> list[str]:
    return list(dict.fromkeys(values))


def summarize(runs: Sequence[Run], reference: str) -> list[Summary]:
    """One summary per (case, competitor), in the order they first appear in `runs`."""
    medians: dict[tuple[str, str], float] = {}
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.case, run.competitor), []).append(run)
    for key, group in groups.items():
        medians[key] = statistics.median(r.ops_per_s for r in group)
    summaries = []
    for (case, competitor), group in groups.items():
        ops = [r.ops_per_s for r in group]
        ref = medians.get((case, reference))
        median = medians[(case, competitor)]
        summaries.append(
            Summary(
                case=case,
                competitor=competitor,
                runs=len(group),
                median_ops_per_s=median,
                min_ops_per_s=min(ops),
                max_ops_per_s=max(ops),
                median_cpu_us_per_op=statistics.median(r.cpu_us_per_op for r in group),
                ratio=median / ref if ref else None,
            )
        )
    return summaries


def format_table(summaries: Sequence[Summary]) -> str:
    """A plain-text table: text columns left-aligned, numbers right-aligned."""
    header = ("case", "competitor", "median ops/s", "min-max ops/s", "cpu us/op", "ratio")
    rows = [
        (
            s.case,
            s.competitor,
            f"{s.median_ops_per_s:,.0f}",
            f"{s.min_ops_per_s:,.0f}-{s.max_ops_per_s:,.0f}",
            f"{s.median_cpu_us_per_op:.3f}",
            "-" if s.ratio is None else f"{s.ratio:.2f}",
        )
        for s in summaries
    ]
    return format_rows([header, *rows])


def format_rows(rows: Sequence[Sequence[str]], left_columns: int = 2) -> str:
    """Rows of cells as text: the first `left_columns` left-aligned, the others right."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) if i < left_columns else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    )


def runs_by_case(results: Results) -> dict[tuple[str, str], list[Run]]:
    """The runs of each (case, competitor), in the order they ran."""
    groups: dict[tuple[str, str], list[Run]] = {}
    for run in results.runs:
        groups.setdefault((run.case, run.competitor), []).append(run)
    return groups


def runs_by_competitor(results: Results) -> dict[str, list[Run]]:
    """The runs of each competitor, over all cases, in the order they ran."""
    groups: dict[str, list[Run]] = {}
    for run in results.runs:
        groups.setdefault(run.competitor, []).append(run)
    return groups


# ---------------------------------------------------------------------------------------------
# A script's own statistics: named values per (case, competitor), tabled against a reference

Stats = dict[tuple[str, str], dict[str, float]]  # (case, competitor) -> name -> value
Measure = Callable[[Sequence[Run]], float]  # one value from the runs of a (case, competitor)
# A table cell from its row's stats and the reference's in the same case (None: no such runs).
Cell = Callable[[dict[str, float], dict[str, float] | None], str]


def median_of(value: Callable[[Run], float]) -> Measure:
    """The measure that is the median of `value` over the runs."""

    def measure(runs: Sequence[Run]) -> float:
        return statistics.median(value(r) for r in runs)

    return measure


def median_stats(results: Results, measures: Mapping[str, Measure]) -> Stats:
    """Per (case, competitor) that ran: each measure over its runs, under the measure's name.
    Most measures are medians (`median_of`), but any function of the runs will do."""
    return {
        key: {name: measure(runs) for name, measure in measures.items()}
        for key, runs in runs_by_case(results).items()
    }


def value_cell(key: str, spec: str) -> Cell:
    """A cell showing the row's `key` formatted by `spec` (",.0f", ".0%", ...)."""

    def cell(row: dict[str, float], ref: dict[str, float] | None) -> str:
        return format(row[key], spec)

    return cell


def ratio_cell(key: str) -> Cell:
    """A cell showing the row's `key` over the reference's, `.2f`; "-" when the case has no
    reference run or the reference's value is zero."""

    def cell(row: dict[str, float], ref: dict[str, float] | None) -> str:
        return f"{row[key] / ref[key]:.2f}" if ref and ref[key] else "-"

    return cell


def stats_table(
    results: Results, stats: Stats, reference: str, columns: Sequence[tuple[str, Cell]]
) -> str:
    """A header row ("case", "competitor", the column names), then per summary of `results`
    its case, competitor and a cell per column, aligned by `format_rows`."""
    rows: list[tuple[str, ...]] = [("case", "competitor", *(name for name, _ in columns))]
    for s in results.summaries:
        row, ref = stats[(s.case, s.competitor)], stats.get((s.case, reference))
        rows.append((s.case, s.competitor, *(cell(row, ref) for _, cell in columns)))
    return format_rows(rows)


def stats_ratio(stats: Stats, case: str, measured: str, reference: str, key: str) -> str:
    """`measured`'s `key` over `reference`'s in `case`, `.2f`, as a script's last line shows
    it; "n/a (no runs)" when either has no runs in that case or the reference's value is 0."""
    mine, ref = stats.get((case, measured)), stats.get((case, reference))
    return shown_ratio(None if mine is None else mine[key], None if ref is None else ref[key])


def shown_ratio(mine: float | None, ref: float | None) -> str:
    """`mine` over `ref`, `.2f`, as a script's last line shows it; "n/a (no runs)" when
    either is None (no runs) or `ref` is 0."""
    if mine is None or not ref:
        return "n/a (no runs)"
    return f"{mine / ref:.2f}"


# ---------------------------------------------------------------------------------------------
# Results on disk


@dataclass(frozen=True, slots=True)
class Results:
    benchmark: str
    reference: str
    started: datetime
    complete: bool  # False when the deadline cut the rounds short
    runs: tuple[Run, ...]
    summaries: tuple[Summary, ...]
    meta: Mapping[str, object] = field(default_factory=dict)

    def summary(self, case: str, competitor: str) -> Summary:
        for s in self.summaries:
            if s.case == case and s.competitor == competitor:
                return s
        raise KeyError(f"no runs of {competitor!r} in case {case!r}")

    @property
    def stem(self) -> str:
        return f"{self.benchmark}-{self.started.strftime('%Y%m%d-%H%M%S')}"


def write_json(results: Results, out_dir: Path) -> Path:
    """Write all raw runs and the summaries to `out_dir/<benchmark>-<time>.json`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{results.stem}.json"
    doc = {
        "benchmark": results.benchmark,
        "reference": results.reference,
        "started": results.started.isoformat(),
        "complete": results.complete,
        "meta": dict(results.meta),
        "summary": [asdict(s) for s in results.summaries],
        "runs": [asdict(r) for r in results.runs],
    }
    path.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def write_chart(results: Results, path: Path) -> Path | None:
    """Bar chart of median ops/s, one group per case, one bar per competitor, min-max as
    error bars, the ratio above each bar. Returns None (and says why) without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        print(
            "matplotlib is missing, no chart: pip install -r bench/requirements.txt",
            file=sys.stderr,
        )
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import StrMethodFormatter

    cases = _unique(s.case for s in results.summaries)
    competitors = _unique(s.competitor for s in results.summaries)
    width = 0.8 / len(competitors)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * len(cases)), 4.5))
    for j, competitor in enumerate(competitors):
        mine = [s for s in results.summaries if s.competitor == competitor]
        xs = [cases.index(s.case) - 0.4 + width * (j + 0.5) for s in mine]
        medians = [s.median_ops_per_s for s in mine]
        errors = [
            [s.median_ops_per_s - s.min_ops_per_s for s in mine],
            [s.max_ops_per_s - s.median_ops_per_s for s in mine],
        ]
        ax.bar(xs, medians, width, yerr=errors, capsize=3, label=competitor)
        for x, s in zip(xs, mine, strict=True):
            if s.ratio is not None:
                ax.annotate(
                    f"{s.ratio:.2f}x",
                    (x, s.max_ops_per_s),
                    ha="center",
                    va="bottom",
                    fontsize=8,
                    xytext=(0, 2),
                    textcoords="offset points",
                )
    ax.set_xticks(range(len(cases)), cases)
    ax.set_ylabel("ops/s (median, min-max)")
    ax.set_title(f"{results.benchmark}: ratio to {results.reference} above bars")
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def report(results: Results, out_dir: Path) -> tuple[Path, Path | None]:
    """Print the table and write the JSON and PNG next to each other."""
    print(format_table(results.summaries))
    if not results.complete:
        print("(incomplete: the deadline stopped the rounds early)")
    json_path = write_json(results, out_dir)
    png_path = write_chart(results, out_dir / f"{results.stem}.png")
    print(f"results: {json_path}" + (f", {png_path}" if png_path else ""))
    return json_path, png_path


def report_stats(
    results: Results,
    out_dir: Path,
    measures: Mapping[str, Measure],
    reference: str,
    columns: Sequence[tuple[str, Cell]],
) -> Stats:
    """`report`, then a blank line and the script's own table of `measures` by `columns`
    (`stats_table`). Returns the stats, for the script's last lines."""
    report(results, out_dir)
    stats = median_stats(results, measures)
    print()
    print(stats_table(results, stats, reference, columns))
    return stats


# ---------------------------------------------------------------------------------------------
# Processes: started by Popen, tracked and stopped by PID, bounded in time

_PR_SET_PDEATHSIG = 1  # prctl(2)
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    # Runs in the child between fork and exec; survives the exec of taskset and of the
    # command taskset execs, so the child is killed if the harness dies without cleaning up.
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def spawn(
    argv: Sequence[str],
    *,
    cpu: int,
    stdout: IO[bytes] | int,
    stderr: IO[bytes] | int,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Start `argv` pinned to `cpu`. taskset execs the command, so the PID is its PID."""
    return subprocess.Popen(
        ["taskset", "-c", str(cpu), *argv],
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=stderr,
        env={**os.environ, **env} if env else None,
        preexec_fn=_die_with_parent,  # safe: the harness starts no threads
    )


def stop_process(proc: subprocess.Popen[bytes], grace_s: float = DEFAULT_STOP_GRACE_S) -> None:
    """SIGTERM, wait up to `grace_s`, then SIGKILL and wait. The child is not reaped until
    Popen waits on it, so its PID cannot have been reused by another process."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(grace_s)


@dataclass(frozen=True, slots=True)
class Exit:
    returncode: int
    stdout: str
    stderr: str
    user_s: float  # rusage of the process itself (children it did not reap are not in it)
    sys_s: float
    wall_s: float


def _wait4(proc: subprocess.Popen[bytes], timeout_s: float) -> tuple[int, resource.struct_rusage]:
    # A pidfd turns "exited?" into a poll with a timeout, without a polling loop; wait4 then
    # reaps it and returns its rusage, which Popen.wait would throw away.
    pidfd = os.pidfd_open(proc.pid)
    try:
        poller = select.poll()
        poller.register(pidfd, select.POLLIN)
        if not poller.poll(int(timeout_s * 1000)):
            raise BenchError(f"{proc.args!r} still running after {timeout_s:.0f} s, stopped")
        _, status, rusage = os.wait4(proc.pid, 0)
    finally:
        os.close(pidfd)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, rusage


def _tail(data: bytes) -> str:
    return data[-DEFAULT_TAIL_BYTES:].decode("utf-8", errors="replace").strip()


def run_pinned(
    argv: Sequence[str], *, cpu: int, timeout_s: float, env: Mapping[str, str] | None = None
) -> Exit:
    """Run `argv` on `cpu` to completion (at most `timeout_s`) and return its output and CPU."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = spawn(argv, cpu=cpu, stdout=out, stderr=err, env=env)
        try:
            returncode, rusage = _wait4(proc, timeout_s)
        finally:
            stop_process(proc)
        wall_s = time.monotonic() - start
        out.seek(0)
        err.seek(0)
        return Exit(
            returncode=returncode,
            stdout=out.read().decode("utf-8", errors="replace"),
            stderr=_tail(err.read()),
            user_s=rusage.ru_utime,
            sys_s=rusage.ru_stime,
            wall_s=wall_s,
        )


def free_port() -> int:
    """A port on 127.0.0.1 that was free a moment ago (the server binds it next)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def wait_for_port(
    port: int, proc: subprocess.Popen[bytes], log: IO[bytes], timeout_s: float
) -> None:
    """Return once 127.0.0.1:`port` accepts a connection; fail if `proc` exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while True:
        if proc.poll() is not None:
            log.seek(0)
            raise BenchError(f"server {proc.args!r} exited {proc.returncode}: {_tail(log.read())}")
        try:
            with socket.create_connection((LOOPBACK, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise BenchError(
                    f"server {proc.args!r} not accepting on port {port} after {timeout_s:.0f} s"
                ) from None
            time.sleep(0.05)


@contextmanager
def serving(
    argv: Sequence[str],
    port: int,
    *,
    env: Mapping[str, str],
    start_timeout_s: float,
    cpu: int = MEASURED_CPU,
) -> Iterator[tuple[subprocess.Popen[bytes], IO[bytes]]]:
    """A server on `cpu` (cpu0, the measured one, unless told), accepting on `port`, stopped
    by its PID on the way out."""
    with tempfile.TemporaryFile() as log:
        proc = spawn(argv, cpu=cpu, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            wait_for_port(port, proc, log, start_timeout_s)
            yield proc, log
        finally:
            stop_process(proc)


def check_importable(hints: Mapping[str, str]) -> None:
    """Fail before any run when a module of `hints` cannot be imported, naming its fix.

    Raises:
        BenchError: the first module that cannot be imported, with its hint.
    """
    missing = missing_modules(list(hints))
    if missing:
        module = missing[0]
        raise BenchError(f"{module} is not importable by {sys.executable}: {hints[module]}")


def last_json_object(stdout: str, what: str) -> dict[str, Any]:
    """The JSON object a load client prints as its last line.

    Raises:
        ValueError: no output, or its last line is no JSON object (`what` names the client).
    """
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ValueError(f"the {what} printed nothing")
    data = json.loads(lines[-1])  # JSONDecodeError is a ValueError
    if not isinstance(data, dict):
        raise ValueError(f"the {what}'s last line is no JSON object: {lines[-1][:200]!r}")
    return data


def starts(competitor: Competitor) -> str | None:
    """Start a server competitor once and stop it: None if it accepted connections, else
    why not."""
    port = free_port()
    argv = [arg.replace("{port}", str(port)) for arg in competitor.argv]
    try:
        with serving(argv, port, env=competitor.env, start_timeout_s=DEFAULT_PORT_WAIT_S):
            pass
    except BenchError as e:
        return str(e)
    return None


def job_probe(case: Case, competitor: Competitor, timeout_s: float) -> str | None:
    """Run a job competitor once in `case`, unrecorded: None if it reported, else why not."""
    try:
        measure_job(case, competitor, -1, timeout_s)
    except BenchError as e:
        return str(e)
    return None


def select_usable(
    prog: str,
    competitors: Iterable[Competitor],
    optional_modules: Mapping[str, Sequence[str]],
    probe: Callable[[Competitor], str | None] = starts,
    *,
    fatal: str = "{name} does not start: {why}",
) -> tuple[Competitor, ...]:
    """The `competitors` that can run here, in their order, each tried once by `probe` (None:
    it runs, else why not; `starts` for servers, `job_probe` for jobs). One named in
    `optional_modules` is skipped, with a line `<prog>: skipping <name>: ...` on stderr, when
    one of its modules cannot be imported or its probe fails; any other must pass.

    Raises:
        BenchError: a competitor not in `optional_modules` fails its probe; the message is
            `fatal` with `{name}` and `{why}` filled in.
    """
    chosen = []
    for competitor in competitors:
        modules = optional_modules.get(competitor.name)
        if modules is not None:
            missing = missing_modules(modules)
            if missing:
                print(
                    f"{prog}: skipping {competitor.name}: {', '.join(missing)} not importable by "
                    f"{sys.executable} ({PIP_INSTALL_HINT})",
                    file=sys.stderr,
                )
                continue
        why = probe(competitor)
        if why is not None:
            if modules is None:
                raise BenchError(fatal.format(name=competitor.name, why=why))
            print(f"{prog}: skipping {competitor.name}: {why}", file=sys.stderr)
            continue
        chosen.append(competitor)
    return tuple(chosen)


def select_usable_jobs(
    prog: str,
    competitors: Iterable[Competitor],
    probes: Iterable[Competitor],
    optional_modules: Mapping[str, Sequence[str]],
    case: Case,
    timeout_s: float,
) -> tuple[Competitor, ...]:
    """`select_usable` for job competitors: each is tried by running its namesake in `probes`
    (the same job, shorter) once in `case`.

    Raises:
        BenchError: a competitor not in `optional_modules` fails: its probe's own error.
    """
    by_name = {probe.name: probe for probe in probes}
    return select_usable(
        prog,
        competitors,
        optional_modules,
        lambda competitor: job_probe(case, by_name[competitor.name], timeout_s),
        fatal="{why}",
    )


def asyncio_loop() -> str:
    """The loop the asyncio competitors run on: "uvloop" when it is importable, else
    "asyncio" (a benchmark's meta names it)."""
    return "asyncio" if missing_modules(["uvloop"]) else "uvloop"


def command_lines(competitors: Iterable[Competitor]) -> dict[str, str]:
    """Each competitor's argv as one line, by name (a benchmark's meta records them)."""
    return {c.name: " ".join(c.argv) for c in competitors}


def script_argv(script: str, *args: str) -> tuple[str, ...]:
    """This Python running `servers/<script>` with `args`."""
    return (sys.executable, str(SERVERS_DIR / script), *args)


def server_argv(script: str, *args: str) -> tuple[str, ...]:
    """A server competitor: `servers/<script>` listening on the harness's `{port}`, then `args`."""
    return script_argv(script, "--port", "{port}", *args)


def window_job_argv(
    script: str,
    target: Sequence[str],
    concurrency: int,
    seconds: float,
    warmup_s: float,
    *args: str,
) -> tuple[str, ...]:
    """A client job competitor: `servers/<script>` aimed at `target` (`--url U`, `--port P`),
    then the flags every job of servers/measured_window.py takes (`--mode` is the case's
    `{mode}`), then `args`, the job's own."""
    return script_argv(
        script,
        *target,
        "--mode",
        "{mode}",
        "--concurrency",
        str(concurrency),
        "--seconds",
        f"{seconds:g}",
        "--warmup",
        f"{warmup_s:g}",
        *args,
    )


def missing_modules(modules: Sequence[str]) -> list[str]:
    """The modules of `modules` that cannot be imported here."""
    missing = []
    for module in modules:
        try:
            if importlib.util.find_spec(module) is None:
                missing.append(module)
        except (ImportError, ValueError):
            missing.append(module)
    return missing


def find_nginx() -> str | None:
    """The nginx binary: on PATH, or where Debian and a source build put it."""
    found = shutil.which("nginx")
    if found is not None:
        return found
    for path in ("/usr/sbin/nginx", "/usr/local/sbin/nginx"):
        if Path(path).exists():
            return path
    return None


# ---------------------------------------------------------------------------------------------
# Measuring


def measure_job(case: Case, competitor: Competitor, round_index: int, timeout_s: float) -> Run:
    argv = expand(competitor.argv, case.params)
    done = run_pinned(argv, cpu=MEASURED_CPU, timeout_s=timeout_s, env=competitor.env)
    if done.returncode != 0:
        raise BenchError(
            f"{competitor.name} in {case.name!r} exited {done.returncode}: "
            f"{done.stderr or done.stdout[-DEFAULT_TAIL_BYTES:]}"
        )
    try:
        job = parse_job_report(done.stdout)
    except ValueError as e:
        raise BenchError(f"{competitor.name} in {case.name!r}: {e}") from None
    rusage_cpu_s = done.user_s + done.sys_s
    cpu_s = job.cpu_seconds if job.cpu_seconds is not None else rusage_cpu_s
    return Run(
        case=case.name,
        competitor=competitor.name,
        round=round_index,
        ops=job.ops,
        seconds=job.seconds,
        ops_per_s=job.ops / job.seconds,
        cpu_s=cpu_s,
        cpu_us_per_op=cpu_s / job.ops * 1e6,
        cpu_source="rusage" if job.cpu_seconds is None else "job",
        extra={
            "rusage_cpu_s": rusage_cpu_s,
            "rusage_sys_share": done.sys_s / rusage_cpu_s if rusage_cpu_s else 0.0,
            "process_wall_s": done.wall_s,
        },
    )


def measure_server(
    case: Case, competitor: Competitor, round_index: int, load: LoadSpec, options: Options
) -> Run:
    port = free_port()
    argv = expand(competitor.argv, {**case.params, "port": port})
    seconds = max(1, round(options.seconds))
    timeout_s = options.run_timeout_s
    with serving(argv, port, env=competitor.env, start_timeout_s=DEFAULT_PORT_WAIT_S) as (
        proc,
        log,
    ):
        if load.warmup_s > 0 and not options.quick:
            warmup = load.command(port, load.warmup_s, proc.pid)
            run_pinned(warmup, cpu=LOAD_CPU, timeout_s=timeout_s)
        before = read_proc_stat(proc.pid)
        measured = load.command(port, seconds, proc.pid)
        done = run_pinned(measured, cpu=LOAD_CPU, timeout_s=timeout_s)
        after = read_proc_stat(proc.pid)
        if proc.poll() is not None:
            log.seek(0)
            raise BenchError(f"server {competitor.name} died under load: {_tail(log.read())}")
    if done.returncode != 0:
        raise BenchError(f"load generator exited {done.returncode}: {done.stderr}")
    try:
        result = load.parse(done.stdout)
    except ValueError as e:
        raise BenchError(f"{competitor.name} in {case.name!r}: {e}") from None
    if result.requests <= 0:
        raise BenchError(f"{competitor.name} in {case.name!r}: the load completed no request")
    cpu_ticks = after.cpu_ticks - before.cpu_ticks
    cpu_s = cpu_ticks / CLK_TCK
    return Run(
        case=case.name,
        competitor=competitor.name,
        round=round_index,
        ops=result.requests,
        seconds=result.seconds,
        ops_per_s=result.requests_per_s,
        cpu_s=cpu_s,
        cpu_us_per_op=cpu_s / result.requests * 1e6,
        cpu_source="proc",
        extra={
            "sys_share": (after.stime_ticks - before.stime_ticks) / cpu_ticks if cpu_ticks else 0.0,
            "errors": float(result.errors),
            # near 1.0 means the load generator, not the server, was the bottleneck
            "load_cpu_share": (done.user_s + done.sys_s) / done.wall_s if done.wall_s else 0.0,
            **{f"latency_{k}_us": v for k, v in result.latency_us.items()},
            **result.extra,
        },
    )


def preflight(bench: Benchmark) -> None:
    """Fail early, naming the fix, when a tool or a cpu the rules need is missing."""
    if shutil.which("taskset") is None:
        raise BenchError("taskset not found: it ships with util-linux (apt-get install util-linux)")
    cpus = os.sched_getaffinity(0)
    if not {MEASURED_CPU, LOAD_CPU} <= cpus:
        raise BenchError(
            f"benchmarks need cpus {MEASURED_CPU} and {LOAD_CPU}; "
            f"this process may run on {sorted(cpus)}"
        )
    if bench.mode == "server":
        loads = [bench.load, *(c.load for c in bench.cases if c.load is not None)]
        for load in loads:
            tool = load.command(0, 1)[0]
            if shutil.which(tool) is None:
                hint = WRK_INSTALL_HINT if tool == "wrk" else "install it or fix LoadSpec.argv"
                raise BenchError(f"load generator {tool} not found: {hint}")
    if bench.reference not in {c.name for c in bench.competitors}:
        raise BenchError(f"reference {bench.reference!r} is not a competitor")


@contextmanager
def _on_load_cpu() -> Iterator[None]:
    # The harness sleeps while measuring, but keep even its wake-ups off the measured cpu.
    saved = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {LOAD_CPU})
    try:
        yield
    finally:
        os.sched_setaffinity(0, saved)


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    # SIGTERM's default action would skip the finally blocks that stop the children.
    def raise_exit(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    saved = signal.signal(signal.SIGTERM, raise_exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)


def machine_meta() -> dict[str, object]:
    model = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    return {
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "cpu_model": model,
        "cpu_count": os.cpu_count(),
        "clk_tck": CLK_TCK,
    }


def run_benchmark_beside(bench: Benchmark, options: Options, pid: int) -> tuple[Results, float]:
    """`run_benchmark`, and the CPU seconds process `pid` (a server on cpu1 the jobs talk to)
    spent meanwhile, from its /proc/PID/stat."""
    before = read_proc_stat(pid)
    results = run_benchmark(bench, options)
    after = read_proc_stat(pid)
    return results, (after.cpu_ticks - before.cpu_ticks) / CLK_TCK


def run_benchmark(bench: Benchmark, options: Options) -> Results:
    """Run every competitor in every case, `options.rounds` times, interleaved."""
    preflight(bench)
    started = datetime.now(UTC)
    deadline = time.monotonic() + options.deadline_s
    runs: list[Run] = []
    complete = True
    with _on_load_cpu(), _sigterm_unwinds():
        for r, case, competitor in schedule(bench.cases, bench.competitors, options.rounds):
            if time.monotonic() > deadline:
                complete = False
                break
            run = _measure(bench, case, competitor, r, options)
            runs.append(run)
            print(
                f"round {r + 1}/{options.rounds}  {case.name}  {competitor.name}: "
                f"{run.ops_per_s:,.0f} ops/s, {run.cpu_us_per_op:.3f} cpu us/op",
                file=sys.stderr,
                flush=True,
            )
    if not complete:
        print(f"deadline of {options.deadline_s:.0f} s reached, stopping early", file=sys.stderr)
    return Results(
        benchmark=bench.name,
        reference=bench.reference,
        started=started,
        complete=complete,
        runs=tuple(runs),
        summaries=tuple(summarize(runs, bench.reference)),
        meta={**machine_meta(), "options": asdict(options), "argv": sys.argv, **bench.meta},
    )


def _measure(bench: Benchmark, case: Case, competitor: Competitor, r: int, options: Options) -> Run:
    match bench.mode:
        case "job":
            return measure_job(case, competitor, r, options.run_timeout_s)
        case "server":
            return measure_server(case, competitor, r, case.load or bench.load, options)
        case _:
            assert_never(bench.mode)


def calibrate_ops(
    competitors: Sequence[Competitor],
    case: Case,
    *,
    target_s: float,
    probe_ops: int,
    multiple: int = 1,
    timeout_s: float,
) -> int:
    """Size a job: the op count with which the slowest competitor's timed part lasts about
    `target_s`, a multiple of `multiple`. Each competitor is probed with `{ops}` = probe_ops,
    grown tenfold (at most thrice) until its timed part lasts 50 ms or more."""
    slowest = float("inf")
    for competitor in competitors:
        ops = probe_ops
        for _ in range(4):
            run = measure_job(
                Case(case.name, {**case.params, "ops": ops}), competitor, -1, timeout_s
            )
            if run.seconds >= 0.05:
                break
            ops *= 10
        slowest = min(slowest, run.ops_per_s)
    return max(multiple, round(slowest * target_s / multiple) * multiple)


# ---------------------------------------------------------------------------------------------
# Command line shared by the benchmark scripts


@dataclass(frozen=True, slots=True)
class Options:
    rounds: int = DEFAULT_ROUNDS
    seconds: float = 10.0  # server mode: load duration; job mode: target timed part per run
    out_dir: Path = DEFAULT_OUT_DIR
    quick: bool = False
    deadline_s: float = DEFAULT_DEADLINE_S
    timeout_s: float | None = None  # per process; None: 30 s + 10 x seconds

    @property
    def run_timeout_s(self) -> float:
        return self.timeout_s if self.timeout_s is not None else 30.0 + 10.0 * self.seconds


def make_parser(
    description: str, *, default_seconds: float, quick_seconds: float
) -> argparse.ArgumentParser:
    """The flags every benchmark takes; a script may add its own before parsing."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument(
        "--rounds",
        type=int,
        help=f"interleaved rounds (default {DEFAULT_ROUNDS}, --quick {DEFAULT_QUICK_ROUNDS})",
    )
    p.add_argument(
        "--seconds",
        type=float,
        help=f"measured seconds per run (default {default_seconds:g}, --quick {quick_seconds:g})",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT_DIR,
        help="directory for the JSON and PNG results (default bench/results)",
    )
    p.add_argument("--quick", action="store_true", help="few short rounds: a smoke test")
    p.add_argument(
        "--deadline",
        type=float,
        default=DEFAULT_DEADLINE_S,
        help=f"seconds for the whole benchmark (default {DEFAULT_DEADLINE_S:g})",
    )
    p.add_argument("--timeout", type=float, help="seconds per process (default 30 + 10 x seconds)")
    p.set_defaults(default_seconds=default_seconds, quick_seconds=quick_seconds)
    return p


def options_from_args(ns: argparse.Namespace) -> Options:
    """Options from parsed flags; --quick lowers the defaults, explicit flags still win.

    Raises:
        BenchError: a count or a duration is not positive.
    """
    rounds = (
        ns.rounds
        if ns.rounds is not None
        else (DEFAULT_QUICK_ROUNDS if ns.quick else DEFAULT_ROUNDS)
    )
    seconds = (
        ns.seconds
        if ns.seconds is not None
        else (ns.quick_seconds if ns.quick else ns.default_seconds)
    )
    checks = [("--rounds", rounds), ("--seconds", seconds), ("--deadline", ns.deadline)]
    if ns.timeout is not None:
        checks.append(("--timeout", ns.timeout))
    for name, value in checks:
        if value <= 0:
            raise BenchError(f"{name} must be positive, got {value}")
    return Options(
        rounds=rounds,
        seconds=float(seconds),
        out_dir=ns.out,
        quick=ns.quick,
        deadline_s=float(ns.deadline),
        timeout_s=ns.timeout,
    )
