"""Plain-text summaries of a grading run: one row per student, one row per test cell."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from dlmath.grading.pipeline import SubmissionResult


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Align ``rows`` under ``header`` in columns (numbers right-aligned)."""
    cells = [[str(h) for h in header]] + [[_cell(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(header))]

    def line(row: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(row, widths, numeric, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def student_table(results: Sequence[SubmissionResult], names: Mapping[str, str],
                  assignments: Sequence[str]) -> str:
    """Per student: the autograded score of each assignment and the total."""
    by_student: dict[str, dict[str, SubmissionResult]] = defaultdict(dict)
    for result in results:
        by_student[result.student][result.assignment] = result
    rows = []
    for student in sorted(by_student):
        scores: list[object] = []
        total = 0.0
        for assignment in assignments:
            result = by_student[student].get(assignment)
            if result is None:
                scores.append("-")
            elif not result.ok:
                scores.append("ERROR")
            else:
                scores.append(result.auto_score)
                total += result.auto_score
        rows.append([student, names.get(student, ""), *scores, total])
    return format_table(["student", "name", *assignments, "total"], rows)


def cell_table(results: Sequence[SubmissionResult]) -> str:
    """Per autograded test cell: points, how many submissions passed it, and the pass rate."""
    passed: dict[tuple[str, str], int] = defaultdict(int)
    seen: dict[tuple[str, str], int] = defaultdict(int)
    points: dict[tuple[str, str], float] = {}
    for result in results:
        for cell in result.cells:
            if not cell.autograded:
                continue
            key = (result.assignment, cell.name)
            seen[key] += 1
            passed[key] += cell.score >= cell.max_score
            points[key] = cell.max_score
    rows = [[a, c, points[(a, c)], f"{passed[(a, c)]}/{seen[(a, c)]}",
             f"{100 * passed[(a, c)] / seen[(a, c)]:.0f}%"] for a, c in sorted(seen)]
    return format_table(["assignment", "test cell", "points", "passed", "rate"], rows)


def integrity_table(results: Sequence[SubmissionResult]) -> str:
    """One row per finding of every flagged submission, most serious kinds first.

    Submissions graded without the sandbox are said once, above the table. Empty when nothing
    was flagged.
    """
    from dlmath.judge.integrity import KINDS

    unsandboxed = [f for r in results for f in r.findings if f.kind == "sandbox"]
    rows = [[r.student, r.assignment, f.kind, f.where, f.detail]
            for r in results for f in r.findings if f.kind != "sandbox"]
    rows.sort(key=lambda row: (KINDS.index(row[2]) if row[2] in KINDS else len(KINDS),
                               row[0], row[1]))
    parts = []
    if unsandboxed:
        count = len({(r.student, r.assignment) for r in results
                     if any(f.kind == "sandbox" for f in r.findings)})
        parts.append(f"WITHOUT SANDBOX: {count} submission{'s' if count != 1 else ''}: "
                     f"{unsandboxed[0].detail}.")
    if rows:
        flagged = len({(r.student, r.assignment) for r in results
                       if any(f.kind != "sandbox" for f in r.findings)})
        parts.append(f"Integrity report: {flagged} submission{'s' if flagged != 1 else ''} "
                     "flagged for review (scores are not affected by these findings)\n"
                     + format_table(["student", "assignment", "finding", "where", "detail"],
                                    rows))
    return "\n".join(parts)
