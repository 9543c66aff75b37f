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

import pytest

# bench/ is no package, and must not go on sys.path: bench/http.py would shadow the
# standard library's http package for every later test in this process.
_spec = importlib.util.spec_from_file_location(
    "harness", Path(__file__).resolve().parents[1] / "bench" / "harness.py"
)
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
