"""``dlmath demo``: release, simulate a class, autograde, feedback, export, summarise.

The class is built from the grader's own self-test variants (reference, blank, plausible
mistakes, valid alternatives), so every simulated student has a known expected score and
the demo checks that the grader gave exactly that.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from nbgrader.api import Gradebook
from nbgrader.plugins import CsvExportPlugin

from dlmath.cli.lms import write_canvas_and_report
from dlmath.cli.progress import Progress
from dlmath.course import CourseError, assignment_ids, copy_course, load_config, open_api
from dlmath.grading.pipeline import SubmissionResult, grade
from dlmath.reports.tables import cell_table, student_table
from dlmath.variants.exercises import PARAMETERS, parameters
from dlmath.variants.secret import key_for, settings

if TYPE_CHECKING:
    from grader_tests.students import Variant

# Realistic, deliberately awkward names: accents, apostrophes, hyphens, particles.
NAMES = [
    ("Amara", "Okafor"), ("Lukas", "Müller"), ("Sofia", "García"), ("Wei", "Zhang"),
    ("Aoife", "O'Brien"), ("Mateus", "Costa"), ("Priya", "Raghunathan"), ("Jonas", "Lindqvist"),
    ("Fatima", "Al-Sayed"), ("Noah", "Kowalski"), ("Chloé", "Lefèvre"), ("Kwame", "Mensah"),
    ("Yuki", "Tanaka"), ("Elena", "Popescu"), ("Diego", "Hernández"), ("Ingrid", "Haugen"),
    ("Arjun", "Mehta"), ("Zeynep", "Yılmaz"), ("Liam", "van der Berg"), ("Mei", "Lin"),
    ("Oluwaseun", "Adeyemi"), ("Hannah", "Schmidt"), ("Rafael", "Nunes"), ("Sara", "Nyström"),
    ("Tomás", "Ó Súilleabháin"), ("Leila", "Haddad"), ("Marek", "Dvořák"), ("Ana", "Silva"),
    ("Kenji", "Watanabe"), ("Isabel", "Martín-Ruiz"), ("David", "Cohen"), ("Nadia", "Rahman"),
    ("Emil", "Johansson"), ("Grace", "Mwangi"), ("Pierre", "Dubois"), ("Hye-jin", "Park"),
]


@dataclass(frozen=True)
class SimulatedStudent:
    """A student of the simulated class."""

    student_id: str
    first_name: str
    last_name: str

    @property
    def email(self) -> str:
        """A plausible university address."""
        return f"{self.student_id}@students.example.edu"


def simulated_class(n_students: int) -> list[SimulatedStudent]:
    """``n_students`` students with realistic names and ids (names repeat beyond the list)."""
    return [SimulatedStudent(f"s26{i + 1:05d}", *NAMES[i % len(NAMES)])
            for i in range(n_students)]


def assign_variants(students: list[SimulatedStudent],
                    variants: list[Variant]) -> dict[str, Variant]:
    """Give every variant to at least one student (when there are enough), cycling after that."""
    cycle = itertools.cycle(variants)
    return {student.student_id: next(cycle) for student in students}


def expected_mismatches(results: list[SubmissionResult],
                        plan: dict[tuple[str, str], Variant]) -> list[str]:
    """Submissions whose per-cell scores differ from what their variant must score."""
    problems = []
    for result in results:
        variant = plan[(result.student, result.assignment)]
        if not result.ok:
            problems.append(f"{result.student} {result.assignment}: not graded ({result.error})")
            continue
        for cell in (c for c in result.cells if c.autograded):
            lost = "*" in variant.lost_cells or cell.name in variant.lost_cells
            want = 0.0 if lost else cell.max_score
            if cell.score != want:
                problems.append(f"{result.student} {result.assignment} [{variant.name}] "
                                f"{cell.name}: {cell.score:g} points, expected {want:g}")
    return problems


def simulated_students(repo_root: Path) -> ModuleType:
    """The grader's simulated students (``grader_tests/students.py`` of the course repository).

    They belong to the grader's self-tests, not to the installed package, so they are loaded
    from the repository the demo copies. Raises CourseError when it has none.
    """
    name = "grader_tests.students"
    if name in sys.modules:
        return sys.modules[name]
    path = repo_root / "grader_tests" / "students.py"
    if not path.is_file():
        raise CourseError(f"dlmath demo needs the course repository's {path}: run it from a "
                          "checkout of the course")
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def build_class(repo_root: Path, course: Path, n_students: int,
                ) -> tuple[list[SimulatedStudent], dict[tuple[str, str], Variant]]:
    """Release every assignment in ``course`` and write a simulated class's submissions.

    Returns the students and, per (student id, assignment), the variant they handed in.
    """
    api = open_api(course)
    for assignment in assignment_ids(course):
        outcome = api.generate_assignment(assignment, force=True, create=True)
        if not outcome["success"]:
            raise CourseError(f"releasing {assignment} failed:\n{outcome.get('error')}")
    students = simulated_class(n_students)
    harness = simulated_students(repo_root)
    plan: dict[tuple[str, str], Variant] = {}
    with Gradebook(api.coursedir.db_url) as gradebook:
        for student in students:
            gradebook.update_or_create_student(student.student_id, first_name=student.first_name,
                                               last_name=student.last_name, email=student.email)
    for offset, assignment in enumerate(assignment_ids(course)):
        variants = harness.load_variants(repo_root / "grader_tests" / "variants", assignment)
        rotated = variants[offset % len(variants):] + variants[:offset % len(variants)]
        for student_id, variant in assign_variants(students, rotated).items():
            harness.write_submission(course, student_id, variant)
            plan[(student_id, assignment)] = variant
    return students, plan


def variants_summary(course: Path, students: list[SimulatedStudent]) -> str:
    """One line on the class's numbers: how many different sets of numbers each exercise with
    per-student variants gave the students (dlmath/variants), or that variants are off."""
    config = load_config(course)
    if not settings(config).enabled:
        return "Per-student variants are off: everybody has the same numbers."
    keys = [key_for(course, config, s.student_id) for s in students]
    counts = ", ".join(f"{assignment} {len({repr(parameters(assignment, k)) for k in keys})}"
                       for assignment in assignment_ids(course) if assignment in PARAMETERS)
    return (f"Per-student variants: different sets of numbers among the {len(students)} "
            f"students: {counts} (`dlmath variants show STUDENT` prints one student's).")


def run_demo(repo_root: Path, workdir: Path, n_students: int = 36) -> int:
    """Run the whole pipeline on a simulated class in ``workdir``; return the exit code."""
    started = time.monotonic()
    course = copy_course(repo_root, workdir)
    students, plan = build_class(repo_root, course, n_students)
    api = open_api(course)
    assignments = assignment_ids(course)
    grading_started = time.monotonic()
    results = grade(api, course, assignments, progress=Progress())
    grading_seconds = time.monotonic() - grading_started
    for assignment in assignments:
        api.generate_feedback(assignment)
    grades_csv = course / "grades.csv"
    with Gradebook(api.coursedir.db_url) as gradebook:
        CsvExportPlugin(to=str(grades_csv)).export(gradebook)

    names = {s.student_id: f"{s.first_name} {s.last_name}" for s in students}
    print(student_table(results, names, assignments))
    print()
    print(cell_table(results))
    print()
    problems = expected_mismatches(results, plan)
    elapsed = time.monotonic() - started
    print(f"Graded {len(results)} submissions from {n_students} students in "
          f"{grading_seconds:.0f} s (the whole demo: {elapsed:.0f} s).")
    print(variants_summary(course, students))
    print(f"Course folder: {course}  (feedback/ and grades.csv are there)")
    canvas_csv, report = write_canvas_and_report(course)
    print(f"Canvas gradebook import: {canvas_csv}")
    print(f"Item analysis: {report}")
    if problems:
        print(f"{len(problems)} scores differ from the grader's self-test expectations:")
        print("\n".join(f"  {p}" for p in problems))
        return 1
    print("Every score matches the grader's self-test expectations.")
    return 0
