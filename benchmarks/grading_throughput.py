"""Throughput of autograding a simulated class: plain serial nbgrader vs ``dlmath grade``.

Builds the five exercises x N students from the grader's harness variants twice (two
identical course folders), then, in one run on this machine:

* baseline: ``nbgrader autograde ASSIGNMENT`` once per assignment (serial, plain nbgrader);
* ``dlmath grade`` with the default workers (one per core).

It prints wall time, throughput (submissions per minute), the speed-up, the per-submission
overhead beyond the notebooks' own execution time, and the peak memory of each run's whole
process tree (sampled every 0.1 s). It also checks that both runs give the same scores.

    .venv/bin/python benchmarks/grading_throughput.py --students 8    # 40 submissions
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import nbformat
import psutil
from nbgrader.api import Gradebook

from dlmath.course import assignment_ids, copy_course, open_api, repository_root
from dlmath.demo import build_class
from dlmath.execution import cell_seconds
from dlmath.grading import default_workers, read_scores


def run_measured(command: list[str], cwd: Path) -> tuple[float, float]:
    """Run ``command``; return (wall seconds, peak RSS in GiB of its process tree)."""
    started = time.perf_counter()
    process = psutil.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                tree = [process, *process.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.1)

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


def all_scores(course: Path) -> dict[tuple[str, str], list]:
    """Every submission's per-cell scores from the course's gradebook."""
    api = open_api(course)
    with Gradebook(api.coursedir.db_url) as gradebook:
        return {(a, s.student.id): read_scores(gradebook, a, s.student.id)
                for a in assignment_ids(course) for s in gradebook.assignment_submissions(a)}


def main() -> int:
    """Build the class, grade it both ways, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8, help="students (default 8: 40 "
                        "submissions over the five exercises)")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent
    repo = repository_root()
    with tempfile.TemporaryDirectory() as scratch:
        courses = {}
        for name in ("baseline", "dlmath"):
            courses[name] = copy_course(repo, Path(scratch) / name)
            build_class(repo, courses[name], args.students)
            make_unique(courses[name])
        assignments = assignment_ids(repo)
        n = len(assignments) * args.students

        baseline_wall, baseline_peak = 0.0, 0.0
        for assignment in assignments:
            wall, peak = run_measured([str(bin_dir / "nbgrader"), "autograde", assignment],
                                      courses["baseline"])
            baseline_wall += wall
            baseline_peak = max(baseline_peak, peak)
        dlmath_wall, dlmath_peak = run_measured([str(bin_dir / "dlmath"), "grade"],
                                                courses["dlmath"])

        # The notebooks' own execution time, as the workers recorded it in each cell.
        executed = (courses["dlmath"] / ".dlmath" / "executed").glob("*.ipynb")
        compute = sum(cell_seconds(nbformat.read(path, as_version=4)) for path in executed)
        same = all_scores(courses["baseline"]) == all_scores(courses["dlmath"])

    workers = default_workers()
    rows = [("plain serial nbgrader autograde", baseline_wall, baseline_peak,
             baseline_wall / n - compute / n),
            (f"dlmath grade ({workers} workers)", dlmath_wall, dlmath_peak,
             dlmath_wall / n - compute / n / workers)]
    print(f"{n} submissions ({args.students} students x {len(assignments)} exercises), "
          f"notebooks' own execution time {compute:.1f} s in total ({compute / n:.2f} s each)")
    print(f"{'run':<34} {'wall s':>7} {'subs/min':>9} {'overhead s/sub':>15} {'peak GiB':>9}")
    for name, wall, peak, overhead in rows:
        print(f"{name:<34} {wall:7.1f} {60 * n / wall:9.1f} {overhead:15.2f} {peak:9.2f}")
    print(f"speed-up: {baseline_wall / dlmath_wall:.2f}x; identical scores: {same}")
    print("overhead = wall time per submission minus the notebook's own execution time "
          "(divided by the workers for dlmath)")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
