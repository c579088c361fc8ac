"""What safe grading costs per submission: plain nbgrader execution vs the judge without and
with the bubblewrap sandbox, on the five reference notebooks.

For each exercise it runs nbgrader's sanitize step on the reference submission, then executes
it ``--repeat`` times in each mode, every time in a fresh kernel started for it (no pool), and
prints the median wall time per mode and the median over the five notebooks.

    .venv/bin/python benchmarks/sandbox_cost.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.preprocessors import Execute
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # grader_tests.students

from dlmath.course import assignment_ids, copy_course, open_api, repository_root, tools_on_path  # noqa: E402
from dlmath.grading.pipeline import check_submission, prepare_job  # noqa: E402
from dlmath.preprocessors.execute import SafeExecute  # noqa: E402
from grader_tests.students import load_variants, write_submission  # noqa: E402

MODES = {
    "plain nbgrader Execute": lambda: Execute(config=Config({"Execute": {"timeout": 60}})),
    "judge, no bubblewrap": lambda: SafeExecute(config=Config({
        "SafeExecute": {"timeout": 60}, "SandboxedKernelManager": {"bubblewrap": False}})),
    "judge + bubblewrap": lambda: SafeExecute(config=Config({"SafeExecute": {"timeout": 60}})),
}


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per notebook and mode")
    args = parser.parse_args()
    repo = repository_root()
    medians: dict[str, list[float]] = {mode: [] for mode in MODES}
    print(f"{'exercise':<26}" + "".join(f"{mode:>26}" for mode in MODES))
    with tempfile.TemporaryDirectory() as scratch:
        course = copy_course(repo, Path(scratch) / "course")
        api = open_api(course)
        for assignment in assignment_ids(course):
            assert api.generate_assignment(assignment)["success"]
            write_submission(course, "reference", load_variants(
                repo / "grader_tests" / "variants", assignment)[0])
            job = prepare_job(api, course, assignment, "reference",
                              check_submission(course, assignment, "reference")[0])
            folder = Path(scratch) / assignment
            folder.mkdir()
            for name, data in job.files.items():
                (folder / name).write_bytes(data)
            row = []
            for mode, make in MODES.items():
                times = []
                for _ in range(args.repeat):
                    nb = nbformat.reads(job.notebook, as_version=4)
                    started = time.perf_counter()
                    make().preprocess(nb, {"metadata": {"path": str(folder)}})
                    times.append(time.perf_counter() - started)
                medians[mode].append(statistics.median(times))
                row.append(medians[mode][-1])
            print(f"{assignment:<26}" + "".join(f"{t:>24.2f} s" for t in row))
    print(f"{'median of the five':<26}" + "".join(
        f"{statistics.median(values):>24.2f} s" for values in medians.values()))
    return 0


if __name__ == "__main__":
    tools_on_path(os.environ)  # nbgrader runs `alembic` by name, as under `dlmath`
    sys.exit(main())
