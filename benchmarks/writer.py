"""The gradebook writer alone: submissions per minute once every notebook is executed.

Builds a class with per-student variants off (so every student's notebook has one stored
execution), executes each distinct notebook once (``dlmath grade`` on the first students),
then copies those submissions to ``--submissions`` (default 2,000) and times
``dlmath grade --force`` on them. Every notebook's outputs come from the store, so what is
timed is what happens to a submission after its execution: preparing it and writing it to
the gradebook through nbgrader's autograde. Before this benchmark, one process did all of
it: that is the rate that capped a cluster, however many workers executed notebooks.

Side by side, in one run, each on a course of its own with the same submissions:

* before: ``dlmath grade`` of ``--baseline`` (a git revision, checked out in a temporary
  worktree), one writer on SQLite;
* now, one writer on SQLite (the default);
* now, one writer and ``--writers`` writer processes on PostgreSQL (a private server on
  loopback, as the tests start it; skipped when Debian's postgresql is not installed).

    .venv/bin/python benchmarks/writer.py                       # 2,000 submissions
    .venv/bin/python benchmarks/writer.py --submissions 200     # a quicker look
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dlmath.cli.demo import build_class
from dlmath.course import assignment_ids, copy_course, repository_root, tools_on_path
from dlmath.grading.pipeline import submitted_students

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(repository_root() / "tests"))
from grading_throughput import all_scores  # noqa: E402
from postgres_cluster import server_binaries, start_cluster, use_database  # noqa: E402

SEED_STUDENTS = 8  # executed for real; the rest are copies of their submissions
BASELINE = "f04cb29"  # the last revision with one writer in the grading process


def course_with_class(repo: Path, folder: Path, submissions: int, db_url: str | None) -> Path:
    """A course with ``submissions`` submissions (a multiple of the assignments), variants
    off, its gradebook at ``db_url`` (default: SQLite)."""
    course = copy_course(repo, folder)
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write("\nc.StudentVariants.enabled = False\n")
    if db_url:
        use_database(course, db_url)
    build_class(repo, course, SEED_STUDENTS)
    assignments = assignment_ids(course)
    seeds = submitted_students(course, assignments[0])  # before the copies
    submitted = course / "submitted"
    for number in range(len(seeds), submissions // len(assignments)):
        shutil.copytree(submitted / seeds[number % len(seeds)], submitted / f"copy{number:05d}")
    return course


def dlmath_grade(python: list[str], course: Path, writers: int,
                 pythonpath: str | None = None) -> float:
    """Run ``dlmath grade --force`` with ``writers``: its wall time in seconds."""
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    command = [*python, "grade", "--force"] + (["--writers", str(writers)] if writers > 1 else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=course, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: some submissions need attention (the mistakes)
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    return seconds


def main() -> int:
    """Build the courses, time the writers, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--submissions", type=int, default=2000)
    parser.add_argument("--writers", type=int, default=2,
                        help="writer processes on PostgreSQL (default 2: one per core here)")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of 'before'")
    args = parser.parse_args()
    repo = repository_root()
    dlmath = [str(Path(sys.executable).parent / "dlmath")]
    before = [sys.executable, "-c", "import sys; from dlmath.cli.main import main; "
              "sys.exit(main())"]
    with tempfile.TemporaryDirectory() as scratch:
        scratch_dir = Path(scratch)
        worktree = scratch_dir / "baseline"
        subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", str(worktree),
                        args.baseline], check=True, capture_output=True)
        cluster = None
        try:
            runs: dict[str, tuple[Path, list[str], int, str | None]] = {
                f"before ({args.baseline}): 1 writer, SQLite": (
                    course_with_class(repo, scratch_dir / "before", args.submissions, None),
                    before, 1, str(worktree)),
                "now: 1 writer, SQLite": (
                    course_with_class(repo, scratch_dir / "sqlite", args.submissions, None),
                    dlmath, 1, None)}
            try:
                server_binaries()
            except FileNotFoundError:
                print("PostgreSQL is not installed (bin/setup --test): its run is left out")
            else:
                cluster = start_cluster()
                for writers in (1, args.writers):
                    runs[f"now: {writers} writer{'s' * (writers > 1)}, PostgreSQL"] = (
                        course_with_class(repo, scratch_dir / f"postgres{writers}",
                                          args.submissions, cluster.create_database()),
                        dlmath, writers, None)
            first = next(iter(runs.values()))[0]
            assignments = assignment_ids(first)
            n = len(submitted_students(first, assignments[0])) * len(assignments)
            # Executes each distinct notebook once; every course gets a copy of the store
            # (the same notebooks, so the same execution keys).
            seeds = [s for s in submitted_students(first, assignments[0])
                     if not s.startswith("copy")]
            subprocess.run([*dlmath, "grade", *[f"--student={s}" for s in seeds]],
                           cwd=first, stdout=subprocess.DEVNULL, check=False)
            for course, *_ in list(runs.values())[1:]:
                shutil.copytree(first / ".dlmath" / "executed", course / ".dlmath" / "executed")
            seconds = {name: dlmath_grade(python, course, writers, pythonpath)
                       for name, (course, python, writers, pythonpath) in runs.items()}
            scores = [all_scores(course) for course, *_ in runs.values()]
        finally:
            if cluster is not None:
                cluster.stop()
            subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force",
                            str(worktree)], check=False, capture_output=True)
    baseline = next(iter(seconds.values()))
    print(f"{n} submissions, every notebook already executed: dlmath grade --force")
    print(f"{'run':<44} {'wall s':>8} {'subs/min':>9} {'s/sub':>7} {'vs before':>10}")
    for name, wall in seconds.items():
        print(f"{name:<44} {wall:8.1f} {60 * n / wall:9.0f} {wall / n:7.3f} "
              f"{baseline / wall:9.2f}x")
    same = all(s == scores[0] for s in scores)
    print(f"identical scores in every run: {same}")
    return 0 if same else 1


if __name__ == "__main__":
    tools_on_path(os.environ)
    sys.exit(main())
