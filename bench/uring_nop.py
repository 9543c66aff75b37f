"""NOP submit+reap throughput: our `uring` against the compiled `liburing` wrapper (PyPI).

Both sides do the same work, so the ratio measures the Python-side cost of each API (the
kernel's NOP work is the same):

- a ring of ENTRIES SQEs (the kernel sizes the CQ at twice that), no setup flags;
- `ops // batch` times: get `batch` SQEs, prep a NOP with its user_data in each; one
  submit-and-wait for `batch` completions; reap them all in one batch, reading user_data and
  res of each (what any consumer must look at), then advance the CQ once;
- each side in its own best way: liburing gets each SQE with `io_uring_get_sqe` and sets
  user_data with `io_uring_sqe_set_data64`; "uring" gets the batch with one `get_sqes` and
  passes user_data to `prep_nop` (one pack per SQE); "uring-get_sqe" is uring used
  liburing's way, one `get_sqe` per SQE, shown so the API's share of the ratio is visible;
- only that loop is timed (perf_counter for wall time, process_time for CPU), and the job
  checks that every op completed with res 0.

liburing's side reaps with `CqeIter` (liburing's `io_uring_for_each_cqe`) and one
`io_uring_cq_advance`; its `io_uring_peek_batch_cqe` raises NotImplementedError in the
wrapper, and indexing the peeked CQE pointer (`cqe[i]`) does not wrap around the ring.

Each job is this script run again (`--job NAME --batch B --ops N`) as a subprocess on cpu0;
the harness interleaves the competitors over rounds and sizes `ops` so the slower one's timed
part lasts about `--seconds`. The last line printed is the batch-256 ratio.
"""

from __future__ import annotations

import sys
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from harness import (
    BenchError,
    Benchmark,
    Case,
    Competitor,
    Options,
    calibrate_ops,
    check_importable,
    emit_job_report,
    make_parser,
    options_from_args,
    report,
    run_benchmark,
)

BATCHES = (1, 32, 256)
ENTRIES = 256  # SQ entries on both sides; the largest batch fits in one submit
PROBE_OPS = 20_000  # first guess when sizing a job; grown until the probe lasts 50 ms
REFERENCE = "liburing"
COMPETITORS = ("uring", "uring-get_sqe", "liburing")
DEFAULT_SECONDS = 1.5  # timed part of each job
QUICK_SECONDS = 0.2

INSTALL_HINT = {
    "uring-get_sqe": "run `make install` (or set PYTHONPATH=packages/uring/src)",
    "uring": "run `make install` (or set PYTHONPATH=packages/uring/src)",
    "liburing": "run `make bench`, or `pip install -r bench/requirements.txt`",
}


def job_uring(batch: int, ops: int, *, batched: bool = True) -> tuple[float, float]:
    """Run `ops` NOPs in batches on our ring; return (wall, cpu) seconds of the loop.

    `batched`: take each batch's SQEs with one `get_sqes` call; otherwise one `get_sqe`
    call per SQE, as liburing does it.
    """
    from uring import Ring, prep_nop

    done = 0
    with Ring(ENTRIES) as ring:
        get_sqe, get_sqes = ring.get_sqe, ring.get_sqes
        submit_and_wait = ring.submit_and_wait
        reap = ring.reap
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(ops // batch):
            if batched:
                for i, sqe in enumerate(get_sqes(batch) or ()):
                    prep_nop(sqe, user_data=i)
            else:
                for i in range(batch):
                    prep_nop(get_sqe(), user_data=i)
            submit_and_wait(batch)
            n = 0
            for user_data, res, _flags in reap():
                if res < 0 or user_data >= batch:
                    raise RuntimeError(f"bad nop completion: user_data={user_data} res={res}")
                n += 1
            done += n
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if done != ops:
        raise RuntimeError(f"{done} completions for {ops} nops")
    return wall, cpu


def job_uring_get_sqe(batch: int, ops: int) -> tuple[float, float]:
    """`job_uring` with one `get_sqe` call per SQE, as liburing does it."""
    return job_uring(batch, ops, batched=False)


def job_liburing(batch: int, ops: int) -> tuple[float, float]:
    """The same loop through the liburing wrapper."""
    from liburing import (
        Cqe,
        CqeIter,
        Ring,
        io_uring_cq_advance,
        io_uring_get_sqe,
        io_uring_prep_nop,
        io_uring_queue_exit,
        io_uring_queue_init,
        io_uring_sqe_set_data64,
        io_uring_submit_and_wait,
    )

    done = 0
    ring = Ring()
    cqe = Cqe()
    io_uring_queue_init(ENTRIES, ring, 0)
    try:
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(ops // batch):
            for i in range(batch):
                sqe = io_uring_get_sqe(ring)
                io_uring_prep_nop(sqe)
                io_uring_sqe_set_data64(sqe, i)
            io_uring_submit_and_wait(ring, batch)
            n = 0
            for _ in CqeIter(ring, cqe):
                entry = cqe[0]  # CqeIter moves cqe[0] to the next completion
                user_data, res = entry.user_data, entry.res
                if res < 0 or user_data >= batch:
                    raise RuntimeError(f"bad nop completion: user_data={user_data} res={res}")
                n += 1
            io_uring_cq_advance(ring, n)
            done += n
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    finally:
        io_uring_queue_exit(ring)
    if done != ops:
        raise RuntimeError(f"{done} completions for {ops} nops")
    return wall, cpu


JOBS = {"uring": job_uring, "uring-get_sqe": job_uring_get_sqe, "liburing": job_liburing}


def competitor(name: str) -> Competitor:
    script = str(Path(__file__).resolve())
    argv = (sys.executable, script, "--job", name, "--batch", "{batch}", "--ops", "{ops}")
    return Competitor(name, argv)


def build(options: Options, fixed_ops: int | None) -> Benchmark:
    competitors = tuple(competitor(name) for name in COMPETITORS)
    cases = []
    for batch in BATCHES:
        ops = fixed_ops
        if ops is None:
            probe = Case(f"batch {batch}", {"batch": batch})
            ops = calibrate_ops(
                competitors,
                probe,
                target_s=options.seconds,
                probe_ops=PROBE_OPS // batch * batch,
                multiple=batch,
                timeout_s=options.run_timeout_s,
            )
        cases.append(Case(f"batch {batch}", {"batch": batch, "ops": ops // batch * batch}))
    versions = {}
    for dist in ("liburing", "sws-uring"):
        try:
            versions[dist] = version(dist)
        except PackageNotFoundError:
            versions[dist] = "not installed (source tree)"
    meta = {"entries": ENTRIES, "ops": {c.name: c.params["ops"] for c in cases}, **versions}
    return Benchmark("uring_nop", "job", tuple(cases), competitors, REFERENCE, meta=meta)


def main(argv: list[str] | None = None) -> int:
    parser = make_parser(
        "NOP submit+reap throughput of uring against liburing, batches of 1, 32 and 256.",
        default_seconds=DEFAULT_SECONDS,
        quick_seconds=QUICK_SECONDS,
    )
    parser.add_argument("--ops", type=int, help="NOPs per job (default: sized to --seconds)")
    parser.add_argument("--job", choices=sorted(JOBS), help="internal: run one job and exit")
    parser.add_argument("--batch", type=int, default=1, help="internal: the job's batch size")
    ns = parser.parse_args(argv)
    if ns.job is not None:
        if ns.ops is None or ns.ops < ns.batch or not 1 <= ns.batch <= ENTRIES:
            parser.error(f"--job needs --ops >= --batch and 1 <= --batch <= {ENTRIES}")
        ops = ns.ops // ns.batch * ns.batch
        wall, cpu = JOBS[ns.job](ns.batch, ops)
        emit_job_report(ops, wall, cpu)
        return 0
    try:
        options = options_from_args(ns)
        check_importable({name.split("-")[0]: INSTALL_HINT[name] for name in COMPETITORS})
        results = run_benchmark(build(options, ns.ops), options)
    except BenchError as e:
        print(f"uring_nop: {e}", file=sys.stderr)
        return 2
    report(results, options.out_dir)
    last = f"batch {BATCHES[-1]}"
    ratios = [s.ratio for s in results.summaries if s.case == last and s.competitor == "uring"]
    shown = f"{ratios[0]:.2f}" if ratios and ratios[0] is not None else "n/a (no runs)"
    print(f"uring/liburing nop ratio ({last}): {shown}")
    return 0 if results.complete else 1


if __name__ == "__main__":
    sys.exit(main())
