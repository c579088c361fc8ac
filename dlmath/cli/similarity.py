"""``dlmath similarity``: which submissions share too much answer code (``reports/similarity.py``).

Exit codes as everywhere in dlmath: 0 nothing flagged, 1 a pair flagged or a submission not
compared, 2 usage or setup error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from nbgrader.api import Gradebook

from dlmath.cli.common import EXIT_ATTENTION, EXIT_OK, selected_assignments
from dlmath.course import CourseError
from dlmath.gradebook import existing_gradebook
from dlmath.reports.tables import format_table


def _student_names(course: Path) -> dict[str, str]:
    """Students' names from the gradebook (empty where there is none yet; never creates one)."""
    url = existing_gradebook(course)
    if url is None:
        return {}
    with Gradebook(url) as gradebook:
        return {s.id: " ".join(filter(None, [s.first_name, s.last_name]))
                for s in gradebook.students}


def cmd_similarity(args: argparse.Namespace) -> int:
    """Compare the submissions of each assignment; print flagged pairs; write the page."""
    from dlmath.reports.similarity import Settings, compare_assignment, percent, write_html

    assignments = selected_assignments(args.course, args.assignments)
    if not 0 < args.threshold <= 100:
        raise CourseError(f"--threshold is a percentage between 0 and 100, got {args.threshold}")
    settings = Settings(min_score=args.threshold / 100)
    reports = [compare_assignment(args.course, a, settings) for a in assignments]
    if not any(r.submissions for r in reports):
        print("No submissions found in submitted/<student>/<assignment>/: nothing to compare.",
              file=sys.stderr)
        return EXIT_ATTENTION
    names = _student_names(args.course)
    rows, cluster_rows = [], []
    for report in reports:
        closest = report.closest_unflagged
        print(f"{report.assignment}: {len(report.submissions)} submissions, "
              f"{len(report.flagged)} pair{'s' if len(report.flagged) != 1 else ''} flagged"
              f" (evidence above {report.evidence_needed:.1f}"
              + (f"; most similar pair not flagged: {percent(closest.score)}, evidence "
                 f"{closest.evidence:.1f})" if closest else ")"))
        rows += [[report.assignment, p.a, p.b, percent(p.score), f"{p.evidence:.1f}",
                  p.shared] for p in report.flagged]
        cluster_rows += [[report.assignment, len(c), ", ".join(c)] for c in report.clusters]
    if rows:
        print()
        print(format_table(["assignment", "student", "student", "score", "evidence",
                            "uncommon shared"], rows))
    if cluster_rows:
        print("\nClusters of three or more:")
        print(format_table(["assignment", "students", "who"], cluster_rows))
    target = args.to if args.to is not None else args.course / "similarity.html"
    write_html(target, reports, names, settings)
    print(f"\nSide by side: {target}")
    not_compared = [f"{r.assignment} {line}" for r in reports for line in r.not_compared]
    for line in not_compared:
        print(f"NOT COMPARED: {line}", file=sys.stderr)
    if rows:
        print(f"{len(rows)} pair{'s' if len(rows) != 1 else ''} flagged for review: "
              + "; ".join(f"{a} {x} & {y}" for a, x, y, *_ in rows), file=sys.stderr)
    return EXIT_ATTENTION if rows or not_compared else EXIT_OK


def add_similarity_command(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register ``dlmath similarity`` with the parser's ``add(name, function, help)``."""
    similarity = add("similarity", cmd_similarity,
                     "Compare the students' answer code of each assignment and flag the pairs "
                     "that share too much of it: prints the flagged pairs and clusters of "
                     "three or more, and writes an HTML page showing each flagged pair side by "
                     "side with the shared passages highlighted. Names, comments, prints, "
                     "numbers and the order of functions do not count; the release "
                     "notebook's code and code most of the class has in common do not count "
                     "as evidence. Exit 1 when a pair is flagged.")
    similarity.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                            help="assignment ids (default: all)")
    similarity.add_argument("--to", type=Path, default=None, metavar="FILE",
                            help="the HTML page to write (default: similarity.html in the "
                                 "course folder)")
    similarity.add_argument("--threshold", type=float, default=90, metavar="PERCENT",
                            help="also flag pairs scoring at least this, whatever their "
                                 "evidence (default: 90)")
