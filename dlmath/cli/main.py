"""The ``dlmath`` command: the instructor's pipeline on top of nbgrader's Python API.

Exit codes: 0 success; 1 the work ran but something needs attention (a submission could
not be graded or was flagged for review, a score differs from expectations); 2 bad usage or
a broken course setup.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from dlmath.cli.common import EXIT_ATTENTION, EXIT_OK, EXIT_USAGE, selected_assignments
from dlmath.cli.hub import add_hub_command
from dlmath.cli.lms import add_lms_commands
from dlmath.cli.progress import Progress
from dlmath.cli.similarity import add_similarity_command
from dlmath.cli.variants import add_variants_command
from dlmath.course import (
    CourseError,
    check_assignment,
    find_course_root,
    load_config,
    open_api,
    tools_on_path,
)
from dlmath.gradebook import copy_gradebook, shown
from dlmath.grading.pipeline import grade, submitted_students
from dlmath.plugins.late_submission import grant_extension, parse_time
from dlmath.reports.tables import cell_table, integrity_table, student_table
from dlmath.variants import VariantError
from dlmath.variants.secret import course_key, ensure_secret
from dlmath.variants.secret import settings as variant_settings


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the student version of each assignment into release/."""
    api = open_api(args.course)
    failed = 0
    for assignment in selected_assignments(args.course, args.assignments):
        outcome = api.generate_assignment(assignment, force=True, create=True)
        if not outcome["success"]:
            failed += 1
            print(f"{assignment}: release failed\n{outcome.get('log', '')}", file=sys.stderr)
    return EXIT_ATTENTION if failed else EXIT_OK


def cmd_grade(args: argparse.Namespace) -> int:
    """Autograde submissions and print a summary."""
    api = open_api(args.course)
    assignments = selected_assignments(args.course, args.assignments)
    if args.workers is not None and args.workers < 1:
        raise CourseError(f"--workers must be at least 1, got {args.workers}")
    if args.no_sandbox:
        api.config.SandboxedKernelManager.bubblewrap = False
    results = grade(api, args.course, assignments, students=args.student or None,
                    force=args.force, workers=args.workers, scheduler=args.scheduler,
                    writers=args.writers, progress=Progress())
    if not results:
        print("No submissions found in submitted/<student>/<assignment>/: nothing to grade.",
              file=sys.stderr)
        return EXIT_ATTENTION
    with Gradebook(api.coursedir.db_url) as gradebook:
        names = {s.id: " ".join(filter(None, [s.first_name, s.last_name]))
                 for s in gradebook.students}
    print(student_table(results, names, assignments))
    print()
    print(cell_table(results))
    for result in results:
        if result.regraded_because:
            print(f"\n{result.student} {result.assignment}: {result.regraded_because}; graded "
                  "again, which recomputed its late penalty.")
    skipped = sum(r.skipped for r in results)
    if skipped:
        print(f"\n{skipped} of {len(results)} submissions were unchanged since they were last "
              "graded and were not run again (--force regrades them).")
    report = integrity_table(results)
    if report:
        print(f"\n{report}")
    failures = [r for r in results if not r.ok]
    for result in failures:
        first_line = (result.error.strip().splitlines() or ["unknown error"])[-1]
        print(f"NOT GRADED: {result.student} {result.assignment}: {first_line}", file=sys.stderr)
    return EXIT_ATTENTION if failures or report else EXIT_OK


def cmd_extend(args: argparse.Namespace) -> int:
    """Give a student more time for an assignment (nbgrader's extension), or take it back."""
    check_assignment(args.course, args.assignment)
    api = open_api(args.course)
    try:
        until = parse_time(args.until) if args.until else None
    except ValueError as error:
        raise CourseError(f"--until {error}; write it like '2026-03-25 23:59 UTC'") from error
    with Gradebook(api.coursedir.db_url) as gradebook:
        known = {s.id for s in gradebook.students}
        try:
            gradebook.find_assignment(args.assignment)
        except MissingEntry as missing:
            raise CourseError(f"{args.assignment} is not in the gradebook: release it first "
                              f"(dlmath release {args.assignment})") from missing
    if args.student not in known and args.student not in submitted_students(
            args.course, args.assignment):
        raise CourseError(f"unknown student {args.student!r}: not in the gradebook nor in "
                          f"submitted/ (check the id, or import the roster first)")
    try:
        extension = grant_extension(api.coursedir.db_url, args.assignment, args.student, until)
    except ValueError as error:
        raise CourseError(str(error)) from error
    what = (f"may hand in until {until:%Y-%m-%d %H:%M} UTC ({extension} after the due date)"
            if extension else "has no extension any more")
    print(f"{args.student} {args.assignment}: {what}. `dlmath grade` recomputes the late "
          "penalty if it was graded already.")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    """Grade a simulated class end to end in a throwaway course folder."""
    from dlmath.cli.demo import run_demo

    workdir = args.workdir or args.course / ".demo"
    return run_demo(args.course, workdir, n_students=args.students)


def cmd_validate(args: argparse.Namespace) -> int:
    """Run notebooks' visible checks, as the Validate button does."""
    from dlmath.student.lab import validate_notebooks

    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        raise CourseError(f"no such notebook: {', '.join(missing)}")
    return EXIT_ATTENTION if validate_notebooks(args.notebooks) else EXIT_OK


def cmd_lab(args: argparse.Namespace) -> int:
    """Set up the student working copy and start JupyterLab in it."""
    from dlmath.student.lab import check_jupyterlab, prepare_student_copy, start_lab

    workdir = args.dir if args.dir is not None else args.course / "student"
    check_jupyterlab()
    if not args.prepare_only and os.geteuid() == 0 and not args.allow_root:
        # JupyterLab would refuse only after starting up, with its own exit code.
        raise CourseError("JupyterLab refuses to run as root: run dlmath lab as a normal user, "
                          "or pass --allow-root (containers, CI).")
    copy = prepare_student_copy(args.course, workdir)
    # Publishing to the student's exchange is a release: the first one makes the secret.
    config = load_config(args.course)
    if variant_settings(config).enabled:
        ensure_secret(args.course, config)
    try:
        key = course_key(args.course, args.student)
    except VariantError as error:
        raise CourseError(str(error)) from None
    print(f"Student working copy: {copy.root}\n"
          f"Released to its Assignments tab ({copy.exchange}): {', '.join(copy.released)}\n"
          f"The notebooks use the numbers of student {args.student}")
    if args.prepare_only:
        print(f"Start JupyterLab there with: dlmath lab --dir {copy.root}")
        return EXIT_OK
    start_lab(copy, ip=args.ip, port=args.port, open_browser=not args.no_browser,
              allow_root=args.allow_root, variant_key=key)
    return EXIT_OK  # not reached: start_lab replaces this process


def cmd_copy_gradebook(args: argparse.Namespace) -> int:
    """Copy the gradebook into the database at ``args.url`` and say what to set next."""
    source = open_api(args.course).coursedir.db_url
    report = copy_gradebook(source, args.url)
    if report.differ:
        print(f"The copy differs from {shown(source)} in: {', '.join(report.differ)}. Keep "
              "using the old gradebook and report this.", file=sys.stderr)
        return EXIT_ATTENTION
    tables = ", ".join(f"{table} {rows}" for table, rows in report.rows.items() if rows)
    # A password is never printed: the line to set then says where it goes.
    setting = shown(args.url).replace("***", "PASSWORD")
    print(f"Copied {report.total} rows ({tables}) from {shown(source)}; the copy matches it "
          f"row by row.\nNow set in nbgrader_config.py:\n"
          f"  c.CourseDirectory.db_url = {setting!r}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for ``dlmath`` and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="dlmath",
        description="Run the Mathematics of Deep Learning course: release assignments, "
                    "autograde submissions, write feedback and export grades. Works on the "
                    "nbgrader course folder that holds nbgrader_config.py.",
        epilog="Exit codes: 0 success, 1 finished but needs attention, 2 usage or setup error.")
    parser.add_argument("--course", type=Path, default=None,
                        help="course folder (default: the one containing the current "
                             "directory, else this repository)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:  # noqa: ANN001
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    release = add("release", cmd_release,
                  "Generate the student version of assignments from source/ into release/.")
    release.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                         help="assignment ids (default: all)")

    grade_parser = add("grade", cmd_grade,
                       "Autograde the submissions in submitted/ and print per-student and "
                       "per-test summaries.")
    grade_parser.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                              help="assignment ids (default: all)")
    grade_parser.add_argument("--student", action="append", metavar="ID",
                              help="grade only this student (repeatable)")
    grade_parser.add_argument("--force", action="store_true",
                              help="regrade every submission; by default a submission graded "
                                   "by an earlier run and unchanged since is skipped")
    grade_parser.add_argument("--workers", type=int, default=None, metavar="N",
                              help="notebooks executed at once on this machine "
                                   "(default: one per core)")
    grade_parser.add_argument("--scheduler", metavar="tcp://HOST:PORT", default=None,
                              help="execute notebooks on the workers of this Dask scheduler "
                                   "instead of local processes")
    grade_parser.add_argument("--writers", type=int, default=1, metavar="K",
                              help="processes writing results to the gradebook (default 1; "
                                   "more only on a database server such as PostgreSQL, for "
                                   "a class too large for one writer to keep up with the "
                                   "workers)")
    grade_parser.add_argument("--no-sandbox", action="store_true",
                              help="run student code without bubblewrap, where it cannot work "
                                   "(resource limits only: student code can read the grading "
                                   "user's files and use the network); without this flag, "
                                   "grading refuses to start when bubblewrap does not work. "
                                   "The integrity report lists every submission graded so")

    extend = add("extend", cmd_extend,
                 "Give a student more time for an assignment: an extension of its due date "
                 "(nbgrader's own, which its late penalties honour). The next `dlmath grade` "
                 "recomputes the late penalty; exports list the extension in their status "
                 "file.")
    extend.add_argument("student", metavar="STUDENT", help="the student's id")
    extend.add_argument("assignment", metavar="ASSIGNMENT", help="the assignment id")
    until = extend.add_mutually_exclusive_group(required=True)
    until.add_argument("--until", metavar="TIME",
                       help="the new deadline, e.g. '2026-03-25 23:59 UTC' or "
                            "'2026-03-25 23:59 Europe/Berlin' (no time zone: UTC)")
    until.add_argument("--remove", action="store_true", help="take the extension back")

    add_lms_commands(add)

    add_similarity_command(add)

    demo = add("demo", cmd_demo,
               "Release, simulate a class, autograde, write feedback, export and summarise, "
               "in a throwaway course folder (default: .demo/ in the course).")
    demo.add_argument("--students", type=int, default=36, help="class size (default: 36)")
    demo.add_argument("--workdir", type=Path, default=None,
                      help="folder to build the simulated course in (it is replaced)")

    validate = add("validate", cmd_validate,
                   "Run a notebook from the top in a fresh kernel and check it with its visible "
                   "tests, as Validate in JupyterLab does (nbgrader validate, with the "
                   "nbgrader_config.py of the current folder). Hidden checks run only at "
                   "grading time.")
    validate.add_argument("notebooks", nargs="+", type=Path, metavar="NOTEBOOK")
    validate.set_defaults(needs_course=False)

    lab = add("lab", cmd_lab,
              "Start JupyterLab for a student working copy of the released assignments. "
              "The copy has its own nbgrader exchange: the Nbgrader > Assignments tab lists "
              "every assignment in release/, Fetch copies one into the working copy (work "
              "already fetched is never overwritten), Validate runs its visible tests, "
              "Submit hands it in to the exchange.")
    lab.add_argument("--dir", type=Path, default=None,
                     help="the student working copy (default: student/ in the course; "
                          "created if missing, kept between runs)")
    lab.add_argument("--student", default=getpass.getuser(), metavar="ID",
                     help="whose numbers the notebooks use (per-student variants; default: "
                          "your login, which nbgrader's exchange submits under)")
    lab.add_argument("--ip", default="127.0.0.1",
                     help="address JupyterLab listens on (default: 127.0.0.1, this machine "
                          "only)")
    lab.add_argument("--port", type=int, default=None,
                     help="port (default: JupyterLab's, 8888 or the next free one)")
    lab.add_argument("--no-browser", action="store_true",
                     help="do not open a web browser; open the printed URL yourself")
    lab.add_argument("--allow-root", action="store_true",
                     help="let JupyterLab run as root (it refuses otherwise; containers, CI)")
    lab.add_argument("--prepare-only", action="store_true",
                     help="set up or refresh the working copy, then exit without starting "
                          "JupyterLab")

    copy = add("copy-gradebook", cmd_copy_gradebook,
               "Copy the course's gradebook (c.CourseDirectory.db_url; by default SQLite's "
               "gradebook.db) into a new, empty database, PostgreSQL say, and check the copy "
               "row by row. Then set c.CourseDirectory.db_url to it in nbgrader_config.py. "
               "Stop the formgrader and grading first: later changes are not copied.")
    copy.add_argument("url", metavar="URL",
                      help="the new database, e.g. postgresql://USER@HOST:5432/NAME "
                           "(created empty beforehand: createdb NAME)")

    add_hub_command(add)
    add_variants_command(add)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dlmath`` command."""
    args = build_parser().parse_args(argv)
    tools_on_path(os.environ)  # .venv/bin/dlmath works without activating the venv
    try:
        if precheck := getattr(args, "precheck", None):
            precheck()  # before the course folder, which the user may not be allowed to see
        if getattr(args, "needs_course", True):
            args.course = find_course_root(args.course)
        return args.func(args)
    except CourseError as error:
        print(f"dlmath: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dlmath: interrupted; graded submissions are kept in the gradebook.",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
