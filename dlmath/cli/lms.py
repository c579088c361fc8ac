"""The LMS round-trip subcommands of ``dlmath``: roster, collect, feedback, export, report.

``dlmath.cli.main`` registers them with ``add_lms_commands``. Exit codes as everywhere in dlmath:
0 success, 1 finished but something needs attention, 2 usage or setup error.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from nbgrader.api import Gradebook

from dlmath.cli.common import EXIT_ATTENTION, EXIT_OK, err, quiet_logger, selected_assignments
from dlmath.cli.progress import Progress
from dlmath.course import CourseError, assignment_ids, check_assignment, open_api
from dlmath.lms.roster import MOODLE_ASSIGNMENT, import_roster, read_roster
from dlmath.plugins.export import EXPORTERS, MOODLE_USER_FIELDS, points
from dlmath.plugins.zip_collect import collect_archive
from dlmath.reports.item_analysis import terminal_summary, write_report

DEFAULT_REPORT = Path("item_analysis.html")


def cmd_roster_import(args: argparse.Namespace) -> int:
    """Create or update the gradebook's students from a Canvas or Moodle roster file."""
    explicit = {}
    for item in args.assignment_map or []:
        assignment, sep, title = item.partition("=")
        if not sep:
            raise CourseError(f"--assignment-map {item!r}: write it as ASSIGNMENT=LMS TITLE")
        check_assignment(args.course, assignment)
        explicit[assignment] = title
    roster = read_roster(args.file, id_column=args.id_column)
    api = open_api(args.course)
    summary = import_roster(args.course, api.coursedir.db_url, roster,
                            assignment_ids(args.course), explicit)
    lms = {"canvas": "Canvas", "moodle": "Moodle"}[roster.lms]
    print(f"{args.file.name} ({lms}): {len(summary.created)} students added, "
          f"{len(summary.updated)} updated, {len(summary.unchanged)} unchanged.")
    columns = summary.columns
    for assignment, column in sorted(columns.matched.items()):
        views = [k for k in column.kinds if k != "Real"]
        real = (f" (Real; also exported as {', '.join(views)})"
                if views and "Real" in column.kinds else "")
        print(f"  {assignment} <- {column.label}{real}")
        if assignment in columns.passed_over:
            print(f"    (the {MOODLE_ASSIGNMENT.lower()}, chosen over "
                  + ", ".join(c.label for c in columns.passed_over[assignment])
                  + f"; --assignment-map {assignment}=TITLE picks another)")
    missing = [a for a in assignment_ids(args.course) if a not in columns.matched]
    if roster.columns and missing:
        print(f"  no {lms} column for: {', '.join(missing)} (title matching will be used; "
              "--assignment-map ID=TITLE sets one)")
    if columns.unmatched:
        print(f"  {lms} columns that are no course assignment: "
              + ", ".join(repr(c.label) for c in columns.unmatched))
    for assignment, (lms_points, max_score) in sorted(summary.points_differ.items()):
        print(f"  {assignment} is worth {points(lms_points)} points in Canvas and "
              f"{points(max_score)} here: Canvas exports scale scores by "
              f"{points(lms_points)}/{points(max_score)}")
    for test_id in roster.test_student_ids:
        print(f"  Canvas's test student (Student View, Canvas id {test_id}) is no student: "
              "not imported")
    for line in roster.notes + summary.kept_ids:
        print(f"  {line}")
    for line in summary.skipped:
        err(f"SKIPPED {line}")
    return EXIT_ATTENTION if summary.skipped else EXIT_OK


def cmd_collect(args: argparse.Namespace) -> int:
    """Place the notebooks of an LMS submissions archive into submitted/."""
    if args.assignment:
        check_assignment(args.course, args.assignment)
    if not args.zip.is_file():
        raise CourseError(f"{args.zip}: no such file")
    result = collect_archive(args.course, args.zip, args.assignment, lms=args.lms,
                             replace=args.replace, canvas_late_days=args.canvas_late_days,
                             moodle_time_zone=args.moodle_time_zone)
    print(f"{args.zip.name} -> submitted/<student>/{result.assignment}/: "
          f"{len(result.added)} added, {len(result.unchanged)} unchanged, "
          f"{len(result.replaced)} replaced, {len(result.conflicts)} left alone.")
    for note in result.notes:
        print(f"  {note}")
    for ignored in result.ignored:
        print(f"  skipped {ignored.name}: {ignored.note}")
    if result.replaced:
        print(f"  the replaced submissions were moved to {result.backup}")
    for student in result.conflicts:
        err(f"NOT REPLACED: submitted/{student}/{result.assignment} "
             f"({result.names.get(student, student)}) differs from the archive's; kept as it "
             "is (--replace keeps a copy and takes the archive's)")
    for rejected in result.rejected:
        owner = f", {result.names.get(rejected.owner, rejected.owner)}" if rejected.owner else ""
        err(f"NOT COLLECTED: {rejected.name}{owner}: {rejected.note}")
    if result.not_collected:
        err("Nothing collected for " + ", ".join(result.names.get(s, s)
                                                  for s in result.not_collected)
             + ": exports leave their grade out ('not collected') until a file is in "
             f"submitted/<student>/{result.assignment}/.")
    return EXIT_ATTENTION if result.needs_attention else EXIT_OK


def cmd_feedback(args: argparse.Namespace) -> int:
    """Write HTML feedback (hidden tests removed) for every autograded submission."""
    api = open_api(args.course)
    failed = 0
    assignments = [a for a in selected_assignments(args.course, args.assignments)
                   # nothing autograded yet: nbgrader would fail with "no notebooks matched"
                   if any((args.course / "autograded").glob(f"*/{a}"))]
    progress = Progress()
    progress.start(len(assignments))
    for assignment in assignments:
        progress.step(assignment)
        outcome = api.generate_feedback(assignment)
        if not outcome["success"]:
            failed += 1
            err(f"{assignment}: feedback failed\n{outcome.get('error') or outcome.get('log')}")
    progress.finish()
    return EXIT_ATTENTION if failed else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """Export the grades for an LMS (or as nbgrader's CSV) and say, by name, what is not final
    or was left out."""
    exporter_class = EXPORTERS[args.format]
    for assignment in args.assignments:
        check_assignment(args.course, assignment)
    dest = args.to or Path(exporter_class.default_name)
    api = open_api(args.course)
    options = {"identify_by": args.moodle_id} if args.format == "moodle" else {}
    # nbgrader's exporter logs what the summary below says anyway.
    with quiet_logger("traitlets"), Gradebook(api.coursedir.db_url) as gradebook:
        exporter = exporter_class(to=str(dest), course_root=str(args.course),
                                  include_provisional=args.include_provisional,
                                  assignment=args.assignments, config=api.config, **options)
        exporter.export(gradebook)
        names = {s.id: " ".join(filter(None, [s.first_name, s.last_name])) or s.id
                 for s in gradebook.students}
    for line in exporter.notices:
        print(line)
    for line in exporter.problems:
        err(line)
    pending = [e for e in exporter.entries if not e.final]
    if pending:
        counts = Counter(e.status for e in pending)
        what = "provisional scores written" if args.include_provisional else (
            "left blank" if args.format == "canvas" else
            "written as -" if args.format == "moodle" else "marked in the status column")
        err(f"{len(pending)} of {len(exporter.entries)} grades are not final ({what}): "
             + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        for e in pending:
            err(f"  {names.get(e.student, e.student)} ({e.student}), {e.assignment}: {e.status}"
                 + (f" ({e.detail})" if e.detail else ""))
        err(f"Details: {exporter.status_path()}")
    return EXIT_ATTENTION if pending or exporter.problems else EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Write the item-analysis HTML page and print its summary."""
    api = open_api(args.course)
    with Gradebook(api.coursedir.db_url) as gradebook:
        analysis = write_report(gradebook, args.course, args.to)
    if not any(ex.totals for ex in analysis.exercises.values()):
        err("No graded submissions yet: run `dlmath grade` first.")
        return EXIT_ATTENTION
    print(terminal_summary(analysis))
    print(f"\nReport: {args.to.resolve()}")
    return EXIT_OK


def add_lms_commands(add: Callable[..., argparse.ArgumentParser]) -> None:
    """Register the LMS subcommands through ``add(name, func, help)`` of ``dlmath.cli.main``."""
    roster = add("roster", None, "Import the class list from your LMS into the gradebook.")
    roster_commands = roster.add_subparsers(dest="roster_command", required=True,
                                            metavar="ACTION")
    roster_import = roster_commands.add_parser(
        "import", help="create or update students from a Canvas or Moodle export",
        description="Create or update the gradebook's students (id, names, email) from a "
                    "Canvas gradebook export (Grades > Export) or a Moodle participants or "
                    "grades export (CSV), and remember their LMS ids and which LMS column is "
                    "which assignment (.dlmath/lms/ids.json). Running it again with the same "
                    "file changes nothing; students missing from the file are kept.")
    roster_import.set_defaults(func=cmd_roster_import)
    roster_import.add_argument("file", type=Path, metavar="FILE", help="the exported CSV file")
    roster_import.add_argument(
        "--id-column", metavar="COLUMN",
        help="column holding nbgrader student ids (default: Canvas 'SIS Login ID', else "
             "'SIS User ID', else 'ID'; Moodle 'ID number', else 'Username', else the part of "
             "'Email address' before @)")
    roster_import.add_argument(
        "--assignment-map", action="append", metavar="ID=TITLE",
        help="the LMS column title of an assignment, when its title does not start with its "
             "exercise number (e.g. ex1_ill_conditioned_gd='Gradient descent'); repeatable")

    collect = add("collect", cmd_collect,
                  "Put the notebooks of a Canvas or Moodle 'download all submissions' archive "
                  "into submitted/<student>/<assignment>/ (nbgrader's zip_collect with the "
                  "course's collector). Files that cannot be placed are listed; an existing, "
                  "different submission is never overwritten unless --replace.")
    collect.add_argument("zip", type=Path, metavar="ZIP", help="the archive the LMS gave you")
    collect.add_argument("--assignment", metavar="ID",
                         help="assignment id (default: the one the notebooks are named after)")
    collect.add_argument("--lms", choices=["auto", "canvas", "moodle"], default="auto",
                         help="which LMS named the files (default: recognised per file)")
    collect.add_argument("--canvas-late-days", type=float, metavar="DAYS", default=None,
                         help="count work Canvas marks LATE as DAYS days late, so the course's "
                              "late policy deducts for it (default: LmsCollector."
                              "canvas_late_days in nbgrader_config.py, 0: no penalty)")
    collect.add_argument("--moodle-time-zone", metavar="ZONE", default=None,
                         help="take Moodle's file times (when each file was stored) as "
                              "submission times, in the Moodle server's time zone ZONE, e.g. "
                              "Europe/Berlin (default: LmsCollector.moodle_time_zone, empty: "
                              "no submission times)")
    collect.add_argument("--replace", action="store_true",
                         help="take the archive's version of a submission that differs from "
                              "the one in submitted/ (the old one is moved to "
                              ".dlmath/lms/replaced/)")

    feedback = add("feedback", cmd_feedback,
                   "Write HTML feedback for autograded submissions into "
                   "feedback/<student>/<assignment>/: the student's work, scores and the "
                   "messages of failing checks, without hidden test code.")
    feedback.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                          help="assignment ids (default: all)")

    export = add("export", cmd_export,
                 "Export grades as a Canvas or Moodle import file, or as nbgrader's CSV with a "
                 "status column. Missing submissions count 0; grades that are not final "
                 "(autograding failed, not graded yet, written answer not graded yet) are "
                 "not written as numbers, are listed in <file>-status.csv and make the exit "
                 "code 1.")
    export.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                        help="assignment ids (default: all)")
    export.add_argument("--format", choices=sorted(EXPORTERS), default="csv",
                        help="canvas: Canvas gradebook import; moodle: Moodle grade import; "
                             "csv: nbgrader's CSV plus status (default)")
    export.add_argument("--to", type=Path, default=None,
                        help="output file (default: canvas_grades.csv, moodle_grades.csv or "
                             "grades.csv)")
    export.add_argument("--moodle-id", choices=sorted(MOODLE_USER_FIELDS), default="email",
                        help="the column you will map users by in Moodle's import: email "
                             "(default, 'Email address') or idnumber ('ID number'); students "
                             "without it are left out of the file and listed")
    export.add_argument("--include-provisional", action="store_true",
                        help="write provisional scores (e.g. written answer not graded yet) "
                             "as numbers instead of leaving them out; still listed as such")

    report = add("report", cmd_report,
                 "Item analysis: per test cell the pass rate and points, per exercise the "
                 "score distribution, the most common failing checks; an HTML page with "
                 "plots and a summary here.")
    report.add_argument("--to", type=Path, default=DEFAULT_REPORT,
                        help=f"the HTML page to write (default: {DEFAULT_REPORT})")



def write_canvas_and_report(course: Path) -> tuple[Path, Path]:
    """Write ``canvas_grades.csv`` and ``item_analysis.html`` into ``course`` (for the demo)."""
    api = open_api(course)
    canvas_csv, report = course / "canvas_grades.csv", course / DEFAULT_REPORT
    # nbgrader's exporter logs what the demo's summary says anyway.
    with quiet_logger("traitlets"), Gradebook(api.coursedir.db_url) as gradebook:
        EXPORTERS["canvas"](to=str(canvas_csv), course_root=str(course),
                            config=api.config).export(gradebook)
        write_report(gradebook, course, report)
    return canvas_csv, report
