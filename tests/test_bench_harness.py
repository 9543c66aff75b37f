"""The pure parts of bench/harness.py: parsing, statistics, ordering, table, results on disk.

No process, no socket, no timing: what the harness measures is checked by running a
benchmark, not here.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

import pytest

# bench/ is no package, and must not go on sys.path: bench/http.py would shadow the
# standard library's http package for every later test in this process.
BENCH = Path(__file__).resolve().parents[1] / "bench"
_spec = importlib.util.spec_from_file_location("harness", BENCH / "harness.py")
assert _spec is not None
assert _spec.loader is not None
harness = importlib.util.module_from_spec(_spec)
sys.modules["harness"] = harness  # dataclasses look their module up by name
_spec.loader.exec_module(harness)

# Captured from `wrk -t1 -c64 -d1s --latency` (wrk 4.1.0) on this machine.
WRK_OUTPUT = """\
Running 1s test @ http://127.0.0.1:18234/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.58ms    2.42ms  12.86ms   85.52%
    Req/Sec    78.15k    17.43k  107.44k    60.00%
  Latency Distribution
     50%  331.00us
     75%    2.06ms
     90%    4.96ms
     99%   11.00ms
  78289 requests in 1.01s, 2.99MB read
Requests/sec:  77696.56
Transfer/sec:      2.96MB
"""

# The lines wrk adds when something went wrong (format strings of wrk.c), and a run long
# enough that wrk prints its duration in minutes.
WRK_OUTPUT_WITH_ERRORS = """\
Running 2m test @ http://127.0.0.1:8080/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   372.68us   88.81us   3.43ms   90.48%
    Req/Sec   171.48k     3.23k  176.62k    75.00%
  20476000 requests in 2.00m, 996.00MB read
  Socket errors: connect 1, read 2, write 3, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec: 170613.47
Transfer/sec:      8.30MB
"""


def make_run(
    case: str, competitor: str, round_index: int, ops_per_s: float, cpu: float
) -> harness.Run:
    return harness.Run(
        case=case,
        competitor=competitor,
        round=round_index,
        ops=1000,
        seconds=1000 / ops_per_s,
        ops_per_s=ops_per_s,
        cpu_s=cpu * 1000 / 1e6,
        cpu_us_per_op=cpu,
        cpu_source="job",
    )


RUNS = [
    make_run("batch 1", "uring", 0, 100.0, 3.0),
    make_run("batch 1", "liburing", 0, 200.0, 1.0),
    make_run("batch 1", "liburing", 1, 220.0, 1.2),
    make_run("batch 1", "uring", 1, 90.0, 3.5),
    make_run("batch 1", "uring", 2, 130.0, 2.5),
    make_run("batch 1", "liburing", 2, 180.0, 1.1),
    make_run("batch 256", "uring", 0, 1000.0, 0.5),
]


# -- /proc/PID/stat ------------------------------------------------------------------------


def stat_line(pid: int, comm: str, utime: int, stime: int, threads: int) -> str:
    # Fields 3.. of proc_pid_stat(5); utime and stime are fields 14 and 15, num_threads 20.
    after = ["S", "1", "100", "100", "0", "-1", "4194560", "120", "0", "0", "0"]
    after += [str(utime), str(stime), "0", "0", "20", "0", str(threads), "0", "12345"]
    after += ["1000000"] * 31
    return f"{pid} ({comm}) " + " ".join(after) + "\n"


def test_parse_proc_stat_reads_cpu_ticks_and_threads() -> None:
    stat = harness.parse_proc_stat(stat_line(4242, "python3", 150, 850, 3))
    assert stat == harness.ProcStat(4242, "python3", "S", 150, 850, 3)
    assert stat.cpu_ticks == 1000


def test_parse_proc_stat_comm_with_spaces_and_parentheses() -> None:
    comm = "my (odd) ) server 1"
    stat = harness.parse_proc_stat(stat_line(7, comm, 11, 22, 1))
    assert stat.comm == comm
    assert (stat.pid, stat.state, stat.utime_ticks, stat.stime_ticks) == (7, "S", 11, 22)


@pytest.mark.parametrize("text", ["", "garbage", "12 (short) S 1 2 3\n"])
def test_parse_proc_stat_rejects_what_is_not_a_stat_line(text: str) -> None:
    with pytest.raises(ValueError, match="/proc/PID/stat"):
        harness.parse_proc_stat(text)


# -- wrk -----------------------------------------------------------------------------------


def test_parse_wrk_output_reads_totals_rate_and_latency() -> None:
    result = harness.parse_wrk_output(WRK_OUTPUT)
    assert result.requests == 78289
    assert result.seconds == pytest.approx(1.01)
    assert result.requests_per_s == pytest.approx(77696.56)
    assert result.errors == 0
    assert result.latency_us == pytest.approx(
        {"p50": 331.0, "p75": 2060.0, "p90": 4960.0, "p99": 11000.0}
    )


def test_parse_wrk_output_counts_errors_and_minutes() -> None:
    result = harness.parse_wrk_output(WRK_OUTPUT_WITH_ERRORS)
    assert result.requests == 20476000
    assert result.seconds == pytest.approx(120.0)
    assert result.requests_per_s == pytest.approx(170613.47)
    assert result.errors == 1 + 2 + 3 + 4 + 5
    assert result.latency_us == {}


def test_parse_wrk_output_without_summary_is_an_error() -> None:
    with pytest.raises(ValueError, match="no wrk summary"):
        harness.parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_load_spec_builds_wrk_and_custom_commands() -> None:
    assert harness.LoadSpec().command(8080, 10) == [
        "wrk",
        "-t1",
        "-c64",
        "-d10s",
        "--latency",
        "http://127.0.0.1:8080/",
    ]
    piped = harness.LoadSpec(
        connections=16, script=Path("p.lua"), script_args=("16",), extra_args=("-H", "X: 1")
    )
    assert piped.command(9, 3) == [
        "wrk",
        "-t1",
        "-c16",
        "-d3s",
        "--latency",
        "-s",
        "p.lua",
        "-H",
        "X: 1",
        "http://127.0.0.1:9/",
        "--",
        "16",
    ]
    custom = harness.LoadSpec(argv=("h2load", "-D{seconds}", "{url}", "--x={port}"), path="/a")
    assert custom.command(81, 5) == ["h2load", "-D5", "http://127.0.0.1:81/a", "--x=81"]


# -- job reports ---------------------------------------------------------------------------


def test_parse_job_report_takes_the_last_line() -> None:
    out = 'warming up\n{"ops": 1}\n{"ops": 500, "seconds": 0.25, "cpu_seconds": 0.2}\n\n'
    assert harness.parse_job_report(out) == harness.JobReport(500, 0.25, 0.2)
    assert harness.parse_job_report('{"ops": 3, "seconds": 1}') == harness.JobReport(3, 1.0)


@pytest.mark.parametrize(
    "out",
    [
        "",
        "not json",
        "[1, 2]",
        '{"seconds": 1}',
        '{"ops": 0, "seconds": 1}',
        '{"ops": 1.5, "seconds": 1}',
        '{"ops": 1, "seconds": 0}',
        '{"ops": 1, "seconds": 1, "cpu_seconds": "x"}',
    ],
)
def test_parse_job_report_rejects_bad_reports(out: str) -> None:
    with pytest.raises(ValueError, match=r"job|JSON"):
        harness.parse_job_report(out)


def test_emit_job_report_round_trips(capsys: pytest.CaptureFixture[str]) -> None:
    harness.emit_job_report(1024, 0.5, 0.4)
    assert harness.parse_job_report(capsys.readouterr().out) == harness.JobReport(1024, 0.5, 0.4)


# -- order, placeholders, statistics -------------------------------------------------------


def test_rotate_moves_the_first_competitor_each_round() -> None:
    names = ["A", "B", "C"]
    assert [harness.rotate(names, r) for r in range(4)] == [
        ["A", "B", "C"],
        ["B", "C", "A"],
        ["C", "A", "B"],
        ["A", "B", "C"],
    ]
    assert harness.rotate([], 3) == []


def test_schedule_interleaves_cases_and_rotates_competitors() -> None:
    cases = [harness.Case("x"), harness.Case("y")]
    competitors = [harness.Competitor("A", ()), harness.Competitor("B", ())]
    order = [(r, c.name, k.name) for r, c, k in harness.schedule(cases, competitors, 2)]
    assert order == [
        (0, "x", "A"),
        (0, "x", "B"),
        (0, "y", "A"),
        (0, "y", "B"),
        (1, "x", "B"),
        (1, "x", "A"),
        (1, "y", "B"),
        (1, "y", "A"),
    ]


def test_expand_fills_known_placeholders_only() -> None:
    argv = ["srv", "--port={port}", "{batch}", "-e", "wrk.headers = {}", "{unknown}"]
    assert harness.expand(argv, {"port": 80, "batch": 32}) == [
        "srv",
        "--port=80",
        "32",
        "-e",
        "wrk.headers = {}",
        "{unknown}",
    ]


def test_summarize_medians_ranges_and_ratios() -> None:
    summaries = harness.summarize(RUNS, reference="liburing")
    by_key = {(s.case, s.competitor): s for s in summaries}
    assert list(by_key) == [("batch 1", "uring"), ("batch 1", "liburing"), ("batch 256", "uring")]
    uring = by_key[("batch 1", "uring")]
    assert (uring.runs, uring.median_ops_per_s) == (3, 100.0)
    assert (uring.min_ops_per_s, uring.max_ops_per_s) == (90.0, 130.0)
    assert uring.median_cpu_us_per_op == 3.0
    assert uring.ratio == pytest.approx(0.5)
    assert by_key[("batch 1", "liburing")].ratio == 1.0
    assert by_key[("batch 256", "uring")].ratio is None  # no reference run in that case


def test_summarize_even_count_takes_the_mean_of_the_middle_two() -> None:
    runs = [make_run("c", "a", r, v, 1.0) for r, v in enumerate([4.0, 1.0, 3.0, 2.0])]
    (summary,) = harness.summarize(runs, reference="a")
    assert summary.median_ops_per_s == 2.5
    assert summary.ratio == 1.0


# -- the table and the files ---------------------------------------------------------------


def test_format_table_aligns_columns() -> None:
    table = harness.format_table(harness.summarize(RUNS, reference="liburing"))
    # Text left-aligned, numbers right-aligned, two spaces between columns.
    assert table == (
        "case       competitor  median ops/s  min-max ops/s  cpu us/op  ratio\n"
        "batch 1    uring                100         90-130      3.000   0.50\n"
        "batch 1    liburing             200        180-220      1.100   1.00\n"
        "batch 256  uring              1,000    1,000-1,000      0.500      -"
    )


def test_format_table_right_aligns_numbers() -> None:
    table = harness.format_table(harness.summarize(RUNS, reference="liburing"))
    header, *rows = table.splitlines()
    median_end = header.index("median ops/s") + len("median ops/s")
    for row in rows:
        assert row[median_end - 1].isdigit()
        assert row[median_end] == " "


def results(tmp_started: datetime) -> harness.Results:
    return harness.Results(
        benchmark="uring_nop",
        reference="liburing",
        started=tmp_started,
        complete=True,
        runs=tuple(RUNS),
        summaries=tuple(harness.summarize(RUNS, reference="liburing")),
        meta={"kernel": "6.1", "out": Path("/x")},
    )


def test_write_json_holds_runs_and_summary(tmp_path: Path) -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    path = harness.write_json(results(started), tmp_path / "out")
    assert path == tmp_path / "out" / "uring_nop-20260102-030405.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert (doc["benchmark"], doc["reference"], doc["complete"]) == ("uring_nop", "liburing", True)
    assert doc["started"] == "2026-01-02T03:04:05+00:00"
    assert doc["meta"] == {"kernel": "6.1", "out": "/x"}
    assert len(doc["runs"]) == len(RUNS)
    assert doc["runs"][0]["competitor"] == "uring"
    assert doc["runs"][0]["cpu_source"] == "job"
    assert [s["ratio"] for s in doc["summary"]] == [0.5, 1.0, None]


def test_results_summary_lookup() -> None:
    r = results(datetime(2026, 1, 1, tzinfo=UTC))
    assert r.summary("batch 1", "liburing").median_ops_per_s == 200.0
    with pytest.raises(KeyError):
        r.summary("batch 2", "uring")


@pytest.fixture(scope="module")
def warm_matplotlib(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Draw one chart first: matplotlib keeps its font file open for the process's life,
    which the per-test descriptor check would otherwise count as a leak."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    harness.write_chart(results(when), tmp_path_factory.mktemp("warm") / "w.png")


@pytest.mark.usefixtures("warm_matplotlib")
def test_write_chart_writes_a_png(tmp_path: Path) -> None:
    path = harness.write_chart(results(datetime(2026, 1, 1, tzinfo=UTC)), tmp_path / "c.png")
    assert path is not None
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# -- command line --------------------------------------------------------------------------


def parse(*argv: str) -> harness.Options:
    parser = harness.make_parser("test", default_seconds=10.0, quick_seconds=1.0)
    return harness.options_from_args(parser.parse_args(list(argv)))


def test_options_defaults_and_quick() -> None:
    assert parse() == harness.Options(rounds=5, seconds=10.0)
    quick = parse("--quick")
    assert (quick.rounds, quick.seconds, quick.quick) == (2, 1.0, True)
    explicit = parse("--quick", "--rounds", "3", "--seconds", "2.5", "--out", "/tmp/r")
    assert (explicit.rounds, explicit.seconds, explicit.out_dir) == (3, 2.5, Path("/tmp/r"))


def test_options_timeout_defaults_from_seconds() -> None:
    assert parse("--seconds", "2").run_timeout_s == 50.0
    assert parse("--timeout", "7").run_timeout_s == 7.0


@pytest.mark.parametrize("argv", [["--rounds", "0"], ["--seconds", "-1"], ["--timeout", "0"]])
def test_options_reject_non_positive_values(argv: list[str]) -> None:
    with pytest.raises(harness.BenchError, match="must be positive"):
        parse(*argv)


def test_parser_takes_script_flags() -> None:
    parser = harness.make_parser("test", default_seconds=1.0, quick_seconds=0.1)
    parser.add_argument("--batch", type=int)
    ns = parser.parse_args(["--batch", "32", "--quick"])
    assert isinstance(ns, argparse.Namespace)
    assert ns.batch == 32
    assert harness.options_from_args(ns).seconds == 0.1


# -- the scripts' own statistics and tables ------------------------------------------------


def script_run(
    case: str,
    competitor: str,
    round_index: int,
    ops_per_s: float,
    cpu_us: float,
    p99_us: float | None = 900.0,
    errors: float = 0.0,
) -> harness.Run:
    ops = round(ops_per_s * 2)
    extra = {"errors": errors, "load_cpu_share": 0.5 + round_index / 10}
    extra["window_client_cpu_s"] = 0.25 * (round_index + 1)
    if p99_us is not None:
        extra["latency_p99_us"] = p99_us + 100 * round_index
    return harness.Run(
        case=case,
        competitor=competitor,
        round=round_index,
        ops=ops,
        seconds=2.0,
        ops_per_s=ops_per_s,
        cpu_s=cpu_us * ops / 1e6,
        cpu_us_per_op=cpu_us,
        cpu_source="proc",
        extra=extra,
    )


def script_results(measured: str, reference: str, case: str = "one") -> harness.Results:
    """Runs as a benchmark script sees them: a case every competitor ran in, with a third
    competitor lacking a p99 in one run and reporting errors; a case without a reference
    run; a case whose reference used no CPU."""
    runs = [
        script_run(case, measured, 0, 12000.0, 40.0),
        script_run(case, reference, 0, 10000.0, 50.0, errors=1.0),
        script_run(case, "other", 0, 5000.0, 90.0, p99_us=None, errors=2.0),
        script_run(case, measured, 1, 13000.0, 38.0),
        script_run(case, reference, 1, 9000.0, 55.0),
        script_run(case, "other", 1, 5500.0, 80.0, errors=3.0),
        script_run(case, measured, 2, 12500.0, 41.0),
        script_run(case, reference, 2, 9500.0, 52.0),
        script_run("no ref", measured, 0, 800.0, 2.5),
        script_run("no ref", "other", 0, 400.0, 5.0),
        script_run("no ref", measured, 1, 900.0, 2.0),
        script_run("idle ref", measured, 0, 1234567.0, 0.125),
        script_run("idle ref", reference, 0, 1000000.0, 0.0),
    ]
    return results_of(runs, reference, benchmark="script")


def results_of(runs: list[harness.Run], reference: str, benchmark: str = "test") -> harness.Results:
    return harness.Results(
        benchmark=benchmark,
        reference=reference,
        started=datetime(2026, 1, 1, tzinfo=UTC),
        complete=True,
        runs=tuple(runs),
        summaries=tuple(harness.summarize(runs, reference)),
    )


# A value per (case, competitor): "a" has a reference, "b" none, the reference of "c" is 0.
STATS = {
    ("a", "x"): {"v": 3.0},
    ("a", "ref"): {"v": 2.0},
    ("b", "x"): {"v": 1.0},
    ("c", "x"): {"v": 5.0},
    ("c", "ref"): {"v": 0.0},
}
STATS_RESULTS = results_of([make_run(c, k, 0, 1.0, 1.0) for c, k in STATS], "ref")


def test_median_stats_applies_each_measure_to_the_runs_of_each_case() -> None:
    measures = {
        "ops_s": harness.median_of(lambda run: run.ops_per_s),
        "cpu_us": harness.median_of(lambda run: run.cpu_us_per_op),
        "runs": lambda runs: float(len(runs)),  # any function of the runs
    }
    stats = harness.median_stats(results_of(RUNS, "liburing"), measures)
    assert stats == {
        ("batch 1", "uring"): {"ops_s": 100.0, "cpu_us": 3.0, "runs": 3.0},
        ("batch 1", "liburing"): {"ops_s": 200.0, "cpu_us": 1.1, "runs": 3.0},
        ("batch 256", "uring"): {"ops_s": 1000.0, "cpu_us": 0.5, "runs": 1.0},
    }
    assert list(stats) == [("batch 1", "uring"), ("batch 1", "liburing"), ("batch 256", "uring")]


def test_stats_table_shows_values_and_ratios_to_the_reference() -> None:
    columns = [
        ("v", harness.value_cell("v", ".1f")),
        ("v vs ref", harness.ratio_cell("v")),
        ("ref?", lambda row, ref: "-" if ref is None else f"{ref['v']:g}"),
    ]
    assert harness.stats_table(STATS_RESULTS, STATS, "ref", columns) == (
        "case  competitor    v  v vs ref  ref?\n"
        "a     x           3.0      1.50     2\n"
        "a     ref         2.0      1.00     2\n"
        "b     x           1.0         -     -\n"  # no reference run in "b"
        "c     x           5.0         -     0\n"  # the reference's value is 0
        "c     ref         0.0         -     0"
    )


def test_stats_ratio_is_the_last_line_figure() -> None:
    assert harness.stats_ratio(STATS, "a", "x", "ref", "v") == "1.50"
    assert harness.stats_ratio(STATS, "a", "ref", "x", "v") == "0.67"
    for case, measured in [("b", "x"), ("c", "x"), ("d", "x"), ("a", "y")]:
        assert harness.stats_ratio(STATS, case, measured, "ref", "v") == "n/a (no runs)"


def load_script(name: str) -> ModuleType:
    """bench/<name>.py as a module named bench_<name>: as `http` it would shadow the
    standard library's package. Its `from harness import` finds the harness loaded above."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The scripts' tables for script_results(), as they printed them before their statistics
# and tables moved into the harness: docs and tooling read them.
SCRIPT_TABLES = {
    "http": (
        "case      competitor      req/s  p99 ms  cpu us/req  req/s vs nginx  "
        "cpu/req vs nginx  server busy  wrk busy  errors\n"
        "one       sws-http       12,500    1.00       40.00            1.32  "
        "            0.77          49%       60%       0\n"
        "one       nginx           9,500    1.00       52.00            1.00  "
        "            1.00          50%       60%       1\n"
        "one       other           5,250     n/a       85.00            0.55  "
        "            1.63          44%       55%       5\n"
        "no ref    sws-http          850    0.95        2.25               -  "
        "               -           0%       55%       0\n"
        "no ref    other             400    0.90        5.00               -  "
        "               -           0%       50%       0\n"
        "idle ref  sws-http    1,234,567    0.90        0.12            1.23  "
        "               -          15%       50%       0\n"
        "idle ref  nginx       1,000,000    0.90        0.00            1.00  "
        "               -           0%       50%       0"
    ),
    "ws": (
        "case      competitor     msgs/s  server cpu us/msg  cpu ratio  server busy  client busy\n"
        "one       sws            12,500              40.00       0.77          49%          25%\n"
        "one       websockets      9,500              52.00       1.00          50%          25%\n"
        "one       other           5,250              85.00       1.63          44%          19%\n"
        "no ref    sws               850               2.25          -           0%          19%\n"
        "no ref    other             400               5.00          -           0%          12%\n"
        "idle ref  sws         1,234,567               0.12          -          15%          12%\n"
        "idle ref  websockets  1,000,000               0.00          -           0%          12%"
    ),
    "client": (
        "case      competitor      req/s  client cpu us/req  req/s vs aiohttp  "
        "cpu/req vs aiohttp  client busy\n"
        "one       sws-client     12,500               40.0              1.32  "
        "              0.77          49%\n"
        "one       aiohttp         9,500               52.0              1.00  "
        "              1.00          50%\n"
        "one       other           5,250               85.0              0.55  "
        "              1.63          44%\n"
        "no ref    sws-client        850                2.2                 -  "
        "                 -           0%\n"
        "no ref    other             400                5.0                 -  "
        "                 -           0%\n"
        "idle ref  sws-client  1,234,567                0.1              1.23  "
        "                 -          15%\n"
        "idle ref  aiohttp     1,000,000                0.0              1.00  "
        "                 -           0%"
    ),
    "dns": (
        "case      competitor  lookups/s  cpu us/lookup  lookups/s vs aiodns  "
        "cpu/lookup vs aiodns  resolver busy\n"
        "one       sws            12,500          40.00                 1.32  "
        "                0.77            49%\n"
        "one       aiodns          9,500          52.00                 1.00  "
        "                1.00            50%\n"
        "one       other           5,250          85.00                 0.55  "
        "                1.63            44%\n"
        "no ref    sws               850           2.25                    -  "
        "                   -             0%\n"
        "no ref    other             400           5.00                    -  "
        "                   -             0%\n"
        "idle ref  sws         1,234,567           0.12                 1.23  "
        "                   -            15%\n"
        "idle ref  aiodns      1,000,000           0.00                 1.00  "
        "                   -             0%"
    ),
}


@pytest.mark.parametrize("name", list(SCRIPT_TABLES))
def test_script_tables_are_unchanged(name: str) -> None:
    script = load_script(name)
    results = script_results(script.MEASURED, script.REFERENCE)
    stats = harness.median_stats(results, script.MEASURES)
    table = harness.stats_table(results, stats, script.REFERENCE, script.COLUMNS)
    assert table == SCRIPT_TABLES[name]


def test_check_importable_names_the_missing_module_and_its_fix() -> None:
    harness.check_importable({"json": "never shown"})
    with pytest.raises(harness.BenchError, match=r"no_such_module_xyz is not importable.*run this"):
        harness.check_importable({"json": "", "no_such_module_xyz": "run this"})


@pytest.mark.parametrize(
    ("stdout", "message"),
    [("", "the echo client printed nothing"), ("note\n[1, 2]\n", "last line is no JSON object")],
)
def test_last_json_object_refuses_what_is_no_report(stdout: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        harness.last_json_object(stdout, "echo client")


def test_last_json_object_reads_the_last_line() -> None:
    assert harness.last_json_object('{"a": 1}\n\n{"b": 2}\n\n', "client") == {"b": 2}
