"""Item analysis for the instructor: how each test cell and each exercise went.

Per test cell: points, how many graded submissions passed it, the mean points and a
discrimination index (correlation between passing this cell and the rest of the exercise's
score: near 0 or negative means the cell does not separate strong from weak work, which
often means it tests something else than intended). Per exercise: the distribution of total
scores. The checks that failed most often, read from the autograded notebooks' error
messages. And, for exercises with per-student variants, the parameter values whose students
pass a test cell markedly less often than the others (an unluckily harder variant). Written as
one HTML page with matplotlib plots embedded, plus a terminal summary.
"""

from __future__ import annotations

import base64
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from nbgrader.api import Gradebook

from dlmath.cells import grade_id, is_test_cell
from dlmath.course import load_config
from dlmath.grading.status import CHANGED, GRADED, MANUAL_PENDING, grade_entries
from dlmath.reports.html import render
from dlmath.reports.tables import format_table
from dlmath.variants import VariantError
from dlmath.variants.exercises import PARAMETERS, parameters
from dlmath.variants.secret import key_for, settings

# Submissions whose autograded cells have scores; the others are left out, and counted.
COUNTED = (GRADED, MANUAL_PENDING, CHANGED)


@dataclass
class CellStats:
    """How one autograded test cell went across the graded submissions."""

    assignment: str
    cell: str
    points: float
    scores: list[float] = field(default_factory=list)
    rest: list[float] = field(default_factory=list)
    students: list[str] = field(default_factory=list)  # whose each score is

    @property
    def n(self) -> int:
        """Graded submissions counted."""
        return len(self.scores)

    @property
    def passed(self) -> int:
        """Submissions with full points on this cell."""
        return sum(s >= self.points for s in self.scores)

    @property
    def pass_rate(self) -> float:
        """Fraction of submissions with full points (0 when there are none)."""
        return self.passed / self.n if self.n else 0.0

    @property
    def mean(self) -> float:
        """Mean points on this cell."""
        return float(np.mean(self.scores)) if self.scores else 0.0

    @property
    def discrimination(self) -> float | None:
        """Correlation of this cell's score with the rest of the exercise; None if undefined."""
        if self.n < 3 or np.std(self.scores) == 0 or np.std(self.rest) == 0:
            return None
        return float(np.corrcoef(self.scores, self.rest)[0, 1])


@dataclass
class ExerciseStats:
    """One exercise: its cells, its total scores, and submissions left out of the analysis."""

    assignment: str
    max_score: float
    cells: dict[str, CellStats] = field(default_factory=dict)
    totals: list[float] = field(default_factory=list)
    left_out: Counter = field(default_factory=Counter)


@dataclass
class ItemAnalysis:
    """The whole course's item analysis."""

    exercises: dict[str, ExerciseStats]
    failures: Counter  # (assignment, cell, message) -> submissions failing with it
    harder_variants: list[VariantFlag] = field(default_factory=list)


@dataclass(frozen=True)
class VariantFlag:
    """Students whose ``parameter`` has ``value`` pass ``cell`` less often than the others."""

    assignment: str
    cell: str
    parameter: str
    value: str
    passed: int
    n: int
    others_passed: int
    others_n: int
    p_value: float

    @property
    def rates(self) -> str:
        """The two pass rates, for reports: 'this value vs the others'."""
        return (f"{self.passed}/{self.n} ({100 * self.passed / self.n:.0f}%) vs "
                f"{self.others_passed}/{self.others_n} "
                f"({100 * self.others_passed / self.others_n:.0f}%)")


# Which group of a parameter a student is in: (assignment, student) -> {parameter: value}, or
# None for an assignment without per-student variants.
GroupsOf = Callable[[str, str], dict[str, str] | None]


def course_groups(course_root: Path) -> GroupsOf:
    """The parameter values of each student's variant in this course (None for assignments
    without variants, or when variants are off or the course secret is missing)."""
    config = load_config(course_root)

    def groups(assignment: str, student: str) -> dict[str, str] | None:
        if assignment not in PARAMETERS or not settings(config).enabled:
            return None
        try:
            return parameters(assignment, key_for(course_root, config, student)).groups()
        except VariantError:
            return None

    return groups


def harder_variants(exercises: dict[str, ExerciseStats], groups_of: GroupsOf,
                    alpha: float = 0.01, min_gap: float = 0.2) -> list[VariantFlag]:
    """The (test cell, parameter value) pairs whose students pass markedly less often.

    For every test cell and every value a parameter takes, Fisher's exact test (one-sided)
    compares the pass rate of the students with that value against everybody else's; a pair
    is flagged when the difference is at least ``min_gap`` and significant at ``alpha`` after
    a Bonferroni correction for the number of pairs compared, so a class's chance spread
    raises nothing.
    """
    from scipy.stats import fisher_exact  # only when there are variants to compare

    candidates = []
    for ex in exercises.values():
        for cell in ex.cells.values():
            seen: dict[tuple[str, str], list[bool]] = {}
            everyone = []
            for student, score in zip(cell.students, cell.scores, strict=True):
                groups = groups_of(ex.assignment, student)
                if groups is None:
                    continue
                everyone.append(score >= cell.points)
                for parameter, value in groups.items():
                    seen.setdefault((parameter, value), []).append(score >= cell.points)
            for (parameter, value), passes in seen.items():
                n, others_n = len(passes), len(everyone) - len(passes)
                if not n or not others_n:
                    continue
                passed, others_passed = sum(passes), sum(everyone) - sum(passes)
                candidates.append((ex.assignment, cell.cell, parameter, value, passed, n,
                                   others_passed, others_n))
    flags = []
    for assignment, cell, parameter, value, passed, n, others_passed, others_n in candidates:
        if others_passed / others_n - passed / n < min_gap:
            continue
        _, p_value = fisher_exact([[passed, n - passed],
                                   [others_passed, others_n - others_passed]],
                                  alternative="less")
        if p_value * len(candidates) < alpha:
            flags.append(VariantFlag(assignment, cell, parameter, value, passed, n,
                                     others_passed, others_n, float(p_value)))
    return sorted(flags, key=lambda f: f.p_value)


def analyse(gradebook: Gradebook, course_root: Path) -> ItemAnalysis:
    """Collect per-cell and per-exercise statistics of every graded submission.

    Submissions that were not handed in, could not be graded or were never graded are left
    out (and counted per exercise), so they do not drag pass rates down as fake zeros.
    """
    exercises: dict[str, ExerciseStats] = {}
    failures: Counter = Counter()
    for entry in grade_entries(gradebook, course_root):
        assignment = gradebook.find_assignment(entry.assignment)
        ex = exercises.setdefault(entry.assignment,
                                  ExerciseStats(entry.assignment, float(assignment.max_score)))
        if entry.status not in COUNTED:
            ex.left_out[entry.status] += 1
            continue
        submission = gradebook.find_submission(entry.assignment, entry.student)
        grades = [g for nb in submission.notebooks for g in nb.grades]
        auto = [g for g in grades if g.cell.cell_type == "code"]
        auto_total = sum(float(g.score) for g in auto)
        for g in auto:
            stats = ex.cells.setdefault(g.name, CellStats(entry.assignment, g.name,
                                                          float(g.max_score)))
            stats.scores.append(float(g.score))
            stats.rest.append(auto_total - float(g.score))
            stats.students.append(entry.student)
        ex.totals.append(float(submission.score))
        for notebook in submission.notebooks:
            path = (course_root / "autograded" / entry.student / entry.assignment
                    / f"{notebook.name}.ipynb")
            for cell, message in failing_checks(path):
                failures[(entry.assignment, cell, message)] += 1
    return ItemAnalysis(exercises, failures,
                        harder_variants(exercises, course_groups(course_root)))


def failing_checks(path: Path) -> list[tuple[str, str]]:
    """(test cell, first line of the error) for each failing test cell of a notebook."""
    if not path.is_file():
        return []
    nb = nbformat.read(path, as_version=4)
    found = []
    for cell in nb.cells:
        if not is_test_cell(cell):
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                first = (output.get("evalue") or "").strip().splitlines()
                found.append((grade_id(cell),
                              first[0] if first else output.get("ename", "error")))
    return found


# --- terminal ----------------------------------------------------------------------------------

def terminal_summary(analysis: ItemAnalysis, hardest: int = 5, common: int = 5) -> str:
    """The hardest test cells, the commonest failing checks, and each exercise's mean."""
    rows = []
    for ex in analysis.exercises.values():
        totals = np.array(ex.totals) if ex.totals else np.array([np.nan])
        left = ", ".join(f"{n} {s}" for s, n in sorted(ex.left_out.items())) or "-"
        rows.append([ex.assignment, len(ex.totals), f"{np.nanmean(totals):.1f}/{ex.max_score:g}",
                     f"{np.nanmedian(totals):g}", left])
    parts = [format_table(["exercise", "graded", "mean", "median", "left out"], rows)]
    cells = sorted((c for ex in analysis.exercises.values() for c in ex.cells.values()),
                   key=lambda c: (c.pass_rate, c.assignment, c.cell))[:hardest]
    parts.append(format_table(
        ["hardest test cells", "exercise", "passed", "rate"],
        [[c.cell, c.assignment, f"{c.passed}/{c.n}", f"{100 * c.pass_rate:.0f}%"] for c in cells]))
    top = analysis.failures.most_common(common)
    if top:
        parts.append(format_table(["most common failing checks", "test cell", "submissions"],
                                  [[_short(m, 70), cell, n] for (_, cell, m), n in top]))
    if analysis.harder_variants:
        parts.append(format_table(
            ["harder variants: test cell", "exercise", "students with", "passed vs the others"],
            [[f.cell, f.assignment, f"{f.parameter} = {f.value}", f.rates]
             for f in analysis.harder_variants]))
    return "\n\n".join(parts)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + "..."


# --- HTML --------------------------------------------------------------------------------------

def _png(fig: object) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode()


def exercise_figure(ex: ExerciseStats) -> str:
    """Pass rate per test cell and the score distribution of one exercise, as base64 PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display: the page is written to a file
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    cells = sorted(ex.cells.values(), key=lambda c: c.cell)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.45 * max(len(cells), 4) + 1.2))
    rates = [100 * c.pass_rate for c in cells]
    colours = ["#c0392b" if r < 50 else "#e67e22" if r < 75 else "#27ae60" for r in rates]
    left.barh([c.cell for c in cells], rates, color=colours)
    left.set_xlim(0, 100)
    left.invert_yaxis()
    left.set_xlabel("submissions with full points (%)")
    left.set_title("pass rate per test cell")
    for y, (rate, cell) in enumerate(zip(rates, cells, strict=True)):
        left.text(min(rate + 1, 88), y, f"{cell.passed}/{cell.n}", va="center", fontsize=8)
    bins = np.arange(0, ex.max_score + 2) - 0.5
    right.hist(ex.totals, bins=bins, color="#2c7fb8", edgecolor="white")
    right.set_xlabel(f"total score (of {ex.max_score:g})")
    right.set_ylabel("submissions")
    right.set_title("score distribution")
    right.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts of submissions
    encoded = _png(fig)
    plt.close(fig)
    return encoded


def render_html(analysis: ItemAnalysis, title: str = "Item analysis") -> str:
    """The report page (``templates/item_analysis.html.j2``): overview, then per exercise its
    plots, its test cells and its most common failing checks. Every text is escaped (names
    and messages come from notebooks and the gradebook)."""
    exercises = []
    for ex in analysis.exercises.values():
        graded = len(ex.totals)
        cells = [{"cell": c.cell, "points": f"{c.points:g}", "passed": c.passed, "n": c.n,
                  "rate": f"{100 * c.pass_rate:.0f}%", "low": c.pass_rate < 0.5,
                  "mean": f"{c.mean:.2f}",
                  "discrimination": "-" if c.discrimination is None
                  else f"{c.discrimination:.2f}"}
                 for c in sorted(ex.cells.values(), key=lambda c: c.cell)]
        failing = [{"count": n, "cell": cell, "message": m}
                   for (a, cell, m), n in analysis.failures.most_common()
                   if a == ex.assignment][:10]
        harder = [{"cell": f.cell, "group": f"{f.parameter} = {f.value}", "rates": f.rates,
                   "p": f"{f.p_value:.2g}"}
                  for f in analysis.harder_variants if f.assignment == ex.assignment]
        exercises.append({
            "assignment": ex.assignment, "graded": graded, "max_score": f"{ex.max_score:g}",
            "mean": f"{np.mean(ex.totals):.1f}" if graded else "-",
            "median": f"{np.median(ex.totals):g}" if graded else "-",
            "left_out": ", ".join(f"{n} {s}" for s, n in sorted(ex.left_out.items())) or "-",
            "figure": exercise_figure(ex) if graded else "", "cells": cells,
            "failing": failing, "harder": harder})
    return render("item_analysis.html.j2", title=title, exercises=exercises)


def write_report(gradebook: Gradebook, course_root: Path, dest: Path) -> ItemAnalysis:
    """Analyse the course and write the HTML page to ``dest``."""
    analysis = analyse(gradebook, course_root)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(render_html(analysis), encoding="utf-8")
    return analysis


def by_cell(analysis: ItemAnalysis) -> dict[tuple[str, str], CellStats]:
    """Every test cell's statistics keyed by (assignment, cell)."""
    return {(ex.assignment, cell.cell): cell for ex in analysis.exercises.values()
            for cell in ex.cells.values()}
