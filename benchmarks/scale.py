"""``dlmath grade`` at scale: wall time predicted from measured per-stage costs, and one point
of the prediction checked against a real Dask cluster on loopback.

Grading is CPU-bound (the workers, their sandboxed kernels and the judge keep every core busy),
so the model counts CPU seconds, measured machine-wide (``/proc/stat``: kernels run in
sandboxes whose time no process tree accounts for), on fresh copies of a simulated class:

* ``main``: the grading process's own start-up and bookkeeping beyond the submissions;
* ``worker``: one worker's start-up (imports, its zygote's imports, the judge's);
* ``cpu``: per submission (execution, kernel, judge, preparing and writing it);

from three runs (2 workers on 40 submissions, 2 workers on 10, 1 worker on 10), which give the
three by difference. Also ``job``, a notebook's wall time on a core of its own (the 1-worker
run), ``start``, the time to the first cell, and ``write``, the grading process's CPU per
submission written to SQLite and to PostgreSQL (``dlmath grade --force`` with every notebook
executed, minus preparing it).

On one machine with ``cores``, W >= cores workers are CPU-bound: ``(main + W * worker +
n * cpu) / cores``. On a cluster every worker has a core: ``start + n * max(job / W, prepare,
write / writers, cpu / cores)``: the slowest of the workers, the one process that prepares
jobs, and the writers (the database server on a machine of its own).

It prints the costs, the table of predictions (the README's), then grades the class on a Dask
scheduler with ``--dask-workers`` worker processes (default 4) on loopback, on this machine, and
prints the predicted and measured wall times side by side.

    .venv/bin/python benchmarks/scale.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nbformat
import psutil

from dlmath.cli.demo import build_class
from dlmath.course import assignment_ids, copy_course, open_api, repository_root, tools_on_path
from dlmath.grading.executors import default_workers
from dlmath.grading.pipeline import check_submission, prepare_job, submitted_students

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(repository_root() / "tests"))
sys.path.insert(0, str(repository_root()))
from grading_throughput import make_unique  # noqa: E402
from postgres_cluster import start_cluster, use_database  # noqa: E402

from grader_tests.dask_cluster import local_dask_cluster  # noqa: E402

SIZES = (1_000, 10_000, 100_000)


@dataclass(frozen=True)
class Costs:
    """Measured costs: CPU seconds (``main``, ``worker``, ``cpu``, ``prepare``, the writes)
    and wall seconds (``start``, ``job``), and the cores they were measured on."""

    main: float
    worker: float
    cpu: float
    start: float
    job: float
    prepare: float
    write_sqlite: float
    write_postgres: float
    cores: int

    def one_machine(self, n: int, workers: int) -> float:
        """Predicted wall seconds for ``n`` submissions on this machine, ``workers`` >= cores."""
        return (self.main + workers * self.worker + n * self.cpu) / self.cores

    def cluster(self, n: int, workers: int, writers: int, postgres: bool) -> float:
        """Predicted wall seconds on a cluster: ``workers`` cores, ``writers`` writers."""
        write = self.write_postgres if postgres else self.write_sqlite
        return self.start + n * max(self.job / workers, self.prepare, write / writers)


def first_cell(course: Path) -> float:
    """Epoch seconds at which the first cell of any executed notebook started."""
    starts = []
    for path in (course / ".dlmath" / "executed").glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            stamp = cell.metadata.get("execution", {}).get("iopub.execute_input")
            if stamp:
                starts.append(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())
    return min(starts)


def busy_seconds() -> float:
    """CPU seconds this machine has spent busy since it booted (all processes)."""
    times = psutil.cpu_times()
    return times.user + times.nice + times.system + times.irq + times.softirq


def timed(command: list[str], course: Path) -> tuple[float, float, float]:
    """Run ``command`` in ``course``: (epoch start, wall seconds, machine CPU seconds)."""
    busy = busy_seconds()
    started, clock = time.time(), time.perf_counter()
    subprocess.run(command, cwd=course, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False)  # exit 1: some submissions need attention (the mistakes)
    return started, time.perf_counter() - clock, busy_seconds() - busy


def new_class(repo: Path, folder: Path, students: int) -> Path:
    """A released course with a simulated class, every notebook different."""
    course = copy_course(repo, folder)
    build_class(repo, course, students)
    make_unique(course)
    return course


def prepare_seconds(course: Path) -> float:
    """CPU seconds per submission of ``prepare_job`` (checking and sanitizing it)."""
    api = open_api(course)
    subs = [(a, s) for a in assignment_ids(course) for s in submitted_students(course, a)]
    started = time.process_time()
    for sub in subs:
        prepare_job(api, course, *sub, check_submission(course, *sub)[0])
    return (time.process_time() - started) / len(subs)


def measure(repo: Path, scratch: Path, students: int, dlmath: list[str],
            postgres_url: str) -> Costs:
    """The costs on this machine (see the module's docstring)."""
    cores = default_workers()
    per = len(assignment_ids(repo))
    runs = {}
    for name, size, workers in (("big", students, cores), ("small", 2, cores), ("one", 2, 1)):
        course = new_class(repo, scratch / name, size)
        began, wall, busy = timed([*dlmath, "grade", "--workers", str(workers)], course)
        runs[name] = (course, size * per, wall, busy, first_cell(course) - began)
    big, small, one = runs["big"], runs["small"], runs["one"]
    cpu = (big[3] - small[3]) / (big[1] - small[1])
    worker = (small[3] - one[3]) / (cores - 1)
    main = one[3] - worker - one[1] * cpu
    job = (one[2] - one[4]) / one[1]

    course, n = big[0], big[1]
    prepare = prepare_seconds(course)
    write = {}
    for database in ("sqlite", "postgres"):
        if database == "postgres":
            subprocess.run([*dlmath, "copy-gradebook", postgres_url], cwd=course, check=True,
                           stdout=subprocess.DEVNULL)
            use_database(course, postgres_url)
        _, regrade, _ = timed([*dlmath, "grade", "--force"], course)  # all executed
        write[database] = max(regrade / n - prepare, 0.0)
    return Costs(main=main, worker=worker, cpu=cpu, start=big[4], job=job, prepare=prepare,
                 write_sqlite=write["sqlite"], write_postgres=write["postgres"], cores=cores)


def table(costs: Costs) -> list[str]:
    """The README's table of predicted wall times, as Markdown rows."""
    def shown(seconds: float) -> str:
        return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"

    setups = [(f"one machine, {costs.cores} cores, 1 writer (SQLite)",
               lambda n: costs.one_machine(n, costs.cores))]
    for workers, writers, postgres in ((32, 1, False), (32, 8, True), (256, 8, True),
                                       (256, 32, True)):
        database = "PostgreSQL" if postgres else "SQLite"
        setups.append((f"Dask, {workers} workers, {writers} writer{'s' * (writers > 1)} "
                       f"({database})",
                       lambda n, w=workers, k=writers, pg=postgres: costs.cluster(n, w, k, pg)))
    rows = ["| setup | " + " | ".join(f"{n:,} submissions" for n in SIZES) + " |",
            "|---|" + "---:|" * len(SIZES)]
    rows += [f"| {name} | " + " | ".join(shown(predict(n)) for n in SIZES) + " |"
             for name, predict in setups]
    return rows


def main() -> int:
    """Measure, predict, and check one point on a loopback Dask cluster."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--dask-workers", type=int, default=4)
    args = parser.parse_args()
    repo = repository_root()
    dlmath = [str(Path(sys.executable).parent / "dlmath")]
    with tempfile.TemporaryDirectory() as scratch:
        cluster = start_cluster()
        try:
            costs = measure(repo, Path(scratch), args.students, dlmath, cluster.create_database())
        finally:
            cluster.stop()
        print(f"costs on this machine ({costs.cores} cores), CPU seconds: grading process "
              f"{costs.main:.1f}, a worker's start-up {costs.worker:.1f}, per submission "
              f"{costs.cpu:.2f} (of it preparing {costs.prepare:.3f}, writing to SQLite "
              f"{costs.write_sqlite:.3f}, to PostgreSQL {costs.write_postgres:.3f}); wall "
              f"seconds: to the first cell {costs.start:.1f}, a notebook on a core of its own "
              f"{costs.job:.2f}")
        print()
        print("\n".join(table(costs)))
        course = new_class(repo, Path(scratch) / "dask", args.students)
        n = len(assignment_ids(course)) * args.students
        with local_dask_cluster(args.dask_workers, Path(scratch)) as address:
            _, measured, _ = timed([*dlmath, "grade", "--scheduler", address], course)
    predicted = costs.one_machine(n, args.dask_workers)
    error = (predicted - measured) / measured
    print()
    print(f"Dask, {args.dask_workers} worker processes on loopback ({costs.cores} cores), "
          f"{n} submissions: predicted {predicted:.1f} s, measured {measured:.1f} s "
          f"({error:+.0%})")
    return 0 if abs(error) <= 0.25 else 1


if __name__ == "__main__":
    tools_on_path(os.environ)
    sys.exit(main())
