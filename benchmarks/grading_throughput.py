"""Throughput of autograding a simulated class: plain serial nbgrader vs ``dlmath grade``.

Builds the five exercises x N students from the grader's harness variants three times (three
identical course folders), then, in one run on this machine:

* baseline: ``nbgrader autograde ASSIGNMENT`` once per assignment, serial, with nbgrader's
  default preprocessors (no sandbox, tests in the student's kernel): what plain nbgrader does;
* the same serial ``nbgrader autograde`` with the course's configuration (safe grading);
* ``dlmath grade`` with the default workers (one per core), also safe.

It prints wall time, throughput (submissions per minute), the speed-up over the baseline, the
per-submission overhead beyond the notebooks' own execution time, and the peak memory of each
run's whole process tree (proportional set size, sampled every 0.5 s). It also checks that the
two safe runs give the same scores.

    .venv/bin/python benchmarks/grading_throughput.py --students 8    # 40 submissions
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbgrader.api import Gradebook

from dlmath.cli.demo import build_class
from dlmath.course import assignment_ids, copy_course, open_api, repository_root, tools_on_path
from dlmath.grading.executors import default_workers
from dlmath.grading.pipeline import read_scores
from dlmath.grading.workers import cell_seconds

SAMPLE_SECONDS = 0.5


def run_measured(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak memory in GiB of its process tree).

    Memory is the proportional set size (PSS): a page shared by k processes (a kernel forked
    from a zygote shares most of its memory with it) counts 1/k in each, so the sum is what
    the tree really occupies; summing RSS would count shared pages once per process. Reading
    it walks every page of every process: 0.05 s of CPU per sample of ``dlmath grade``'s tree
    on the 2-core machine where it was measured, so sampling every 0.1 s took 12% of the
    machine from the run it measured; every ``SAMPLE_SECONDS`` it takes about 2.5%.
    """
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_full_info().pss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    code = process.wait()
    done.set()
    sampler.join()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}")
    return time.perf_counter() - started, peak / 2**30


def make_unique(course: Path) -> None:
    """Sign every submission's first answer cell, so no two submissions are identical.

    Students who share a harness variant would otherwise hand in identical notebooks, and
    dlmath executes identical notebooks once: real classes rarely do that.
    """
    for path in (course / "submitted").glob("*/*/*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        answer = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")
                      and c.cell_type == "code")
        answer.source += f"\n# handed in by {path.parts[-3]}"
        nbformat.write(nb, path)


# nbgrader's defaults, with only what the course needs to grade at all.
PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "dlmath"
c.Execute.timeout = 60
c.OverwriteCells.add_missing_cells = True
"""


def serial_nbgrader(course: Path) -> tuple[float, float]:
    """Run plain ``nbgrader autograde`` on every assignment in turn: (wall s, peak GiB)."""
    wall, peak = 0.0, 0.0
    for assignment in assignment_ids(course):
        seconds, gib = run_measured([str(Path(sys.executable).parent / "nbgrader"), "autograde",
                                     assignment], course)
        wall, peak = wall + seconds, max(peak, gib)
    return wall, peak


def all_scores(course: Path) -> dict[tuple[str, str], list]:
    """Every submission's per-cell scores from the course's gradebook."""
    api = open_api(course)
    with Gradebook(api.coursedir.db_url) as gradebook:
        return {(a, s.student.id): read_scores(gradebook, a, s.student.id)
                for a in assignment_ids(course) for s in gradebook.assignment_submissions(a)}


def main() -> int:
    """Build the class, grade it three ways, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8, help="students (default 8: 40 "
                        "submissions over the five exercises)")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    repo = repository_root()
    with tempfile.TemporaryDirectory() as scratch:
        courses = {}
        for name in ("plain", "serial", "dlmath"):
            courses[name] = copy_course(repo, Path(scratch) / name)
            build_class(repo, courses[name], args.students)
            make_unique(courses[name])
        (courses["plain"] / "nbgrader_config.py").write_text(PLAIN_CONFIG)
        n = len(assignment_ids(repo)) * args.students

        runs = {"plain serial nbgrader autograde (defaults)": serial_nbgrader(courses["plain"]),
                "serial nbgrader autograde (course config)": serial_nbgrader(courses["serial"]),
                f"dlmath grade ({default_workers()} workers)":
                    run_measured([str(bin_dir / "dlmath"), "grade"], courses["dlmath"])}

        # The notebooks' own execution time (student cells and tests), as recorded per cell.
        executed = (courses["dlmath"] / ".dlmath" / "executed").glob("*.ipynb")
        compute = sum(cell_seconds(nbformat.read(path, as_version=4)) for path in executed)
        same = all_scores(courses["serial"]) == all_scores(courses["dlmath"])

    baseline = next(iter(runs.values()))[0]
    print(f"{n} submissions ({args.students} students x 5 exercises), notebooks' own execution "
          f"time {compute:.1f} s in total ({compute / n:.2f} s each)")
    print(f"{'run':<44} {'wall s':>7} {'subs/min':>9} {'vs plain':>9} {'overhead s/sub':>15} "
          f"{'peak GiB':>9}")
    for name, (wall, peak) in runs.items():
        parallel = default_workers() if name.startswith("dlmath") else 1
        overhead = wall / n - compute / n / parallel
        print(f"{name:<44} {wall:7.1f} {60 * n / wall:9.1f} {baseline / wall:8.2f}x "
              f"{overhead:15.2f} {peak:9.2f}")
    print(f"identical scores (serial course config vs dlmath grade): {same}")
    print("overhead = wall time per submission minus the notebook's own execution time "
          "(divided by the workers for dlmath)")
    return 0 if same else 1


if __name__ == "__main__":
    tools_on_path(os.environ)  # nbgrader runs `alembic` by name, as under `dlmath`
    sys.exit(main())
