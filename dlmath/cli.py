"""The ``dlmath`` command: the instructor's pipeline on top of nbgrader's Python API.

Exit codes: 0 success; 1 the work ran but something needs attention (a submission could
not be graded or was flagged for review, a score differs from expectations); 2 bad usage or
a broken course setup.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from dlmath.course import CourseError, assignment_ids, check_assignment, find_course_root, open_api
from dlmath.grading import grade, submitted_students
from dlmath.late_policy import grant_extension, parse_time
from dlmath.lms_commands import add_lms_commands
from dlmath.progress import Progress
from dlmath.reports import cell_table, format_table, integrity_table, student_table

EXIT_OK, EXIT_ATTENTION, EXIT_USAGE = 0, 1, 2


def _assignments(course: Path, requested: list[str]) -> list[str]:
    for assignment in requested:
        check_assignment(course, assignment)
    return requested or assignment_ids(course)


def cmd_release(args: argparse.Namespace) -> int:
    """Generate the student version of each assignment into release/."""
    api = open_api(args.course)
    failed = 0
    for assignment in _assignments(args.course, args.assignments):
        outcome = api.generate_assignment(assignment, force=True, create=True)
        if not outcome["success"]:
            failed += 1
            print(f"{assignment}: release failed\n{outcome.get('log', '')}", file=sys.stderr)
    return EXIT_ATTENTION if failed else EXIT_OK


def cmd_grade(args: argparse.Namespace) -> int:
    """Autograde submissions and print a summary."""
    api = open_api(args.course)
    assignments = _assignments(args.course, args.assignments)
    if args.workers is not None and args.workers < 1:
        raise CourseError(f"--workers must be at least 1, got {args.workers}")
    if args.no_sandbox:
        api.config.SandboxedKernelManager.bubblewrap = False
    results = grade(api, args.course, assignments, students=args.student or None,
                    force=args.force, workers=args.workers, scheduler=args.scheduler,
                    progress=Progress())
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


def _student_names(course: Path) -> dict[str, str]:
    """Students' names from the gradebook (empty where there is none yet; never creates one)."""
    api = open_api(course)
    url = api.coursedir.db_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        return {}
    with Gradebook(url) as gradebook:
        return {s.id: " ".join(filter(None, [s.first_name, s.last_name]))
                for s in gradebook.students}


def cmd_similarity(args: argparse.Namespace) -> int:
    """Compare the submissions of each assignment; print flagged pairs; write the page."""
    from dlmath.similarity import Settings, compare_assignment, percent, write_html

    assignments = _assignments(args.course, args.assignments)
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
    from dlmath.demo import run_demo

    workdir = args.workdir or args.course / ".demo"
    return run_demo(args.course, workdir, n_students=args.students)


def cmd_validate(args: argparse.Namespace) -> int:
    """Run notebooks' visible checks, as the Validate button does."""
    from dlmath.lab import validate_notebooks

    missing = [str(path) for path in args.notebooks if not path.is_file()]
    if missing:
        raise CourseError(f"no such notebook: {', '.join(missing)}")
    return EXIT_ATTENTION if validate_notebooks(args.notebooks) else EXIT_OK


def cmd_lab(args: argparse.Namespace) -> int:
    """Set up the student working copy and start JupyterLab in it."""
    from dlmath.lab import check_jupyterlab, prepare_student_copy, start_lab

    workdir = args.dir if args.dir is not None else args.course / "student"
    check_jupyterlab()
    if not args.prepare_only and os.geteuid() == 0 and not args.allow_root:
        # JupyterLab would refuse only after starting up, with its own exit code.
        raise CourseError("JupyterLab refuses to run as root: run dlmath lab as a normal user, "
                          "or pass --allow-root (containers, CI).")
    copy = prepare_student_copy(args.course, workdir)
    print(f"Student working copy: {copy.root}\n"
          f"Released to its Assignments tab ({copy.exchange}): {', '.join(copy.released)}")
    if args.prepare_only:
        print(f"Start JupyterLab there with: dlmath lab --dir {copy.root}")
        return EXIT_OK
    start_lab(copy, ip=args.ip, port=args.port, open_browser=not args.no_browser,
              allow_root=args.allow_root)
    return EXIT_OK  # not reached: start_lab replaces this process


def cmd_hub(args: argparse.Namespace) -> int:
    """Check the machine, then start the course's JupyterHub."""
    from dlmath.hub import prepare_hub, start_hub

    settings = prepare_hub(args.course, exchange=args.exchange, state_dir=args.state_dir,
                           ip=args.ip, port=args.port, grader=args.grader,
                           instructors=args.instructor or [], tas=args.ta or [])
    staff = ", ".join([*(f"{n} (instructor)" for n in settings.instructors),
                       *(f"{n} (TA)" for n in settings.tas)]) or "nobody yet (--instructor)"
    print(f"Course {settings.course_id} on http://{settings.ip}:{settings.port}/ for "
          f"{len(settings.students)} students; formgrader at /services/{settings.service_name}/ "
          f"as {settings.grader}, for {staff}; exchange {settings.exchange_root}")
    if args.check:
        return EXIT_OK
    start_hub(settings)
    return EXIT_OK  # not reached: start_hub replaces this process


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

    from dlmath.hub import DEFAULT_EXCHANGE, DEFAULT_STATE, require_root

    hub = add("hub", cmd_hub,
              "Start the course's JupyterHub (as root): every roster student logs in with their "
              "OS account and gets their own JupyterLab with the Assignments tab, Validate and "
              "Submit; assignments move through a shared nbgrader exchange; the formgrader runs "
              "as a service under the grader account. Checks the machine first and lists every "
              "problem with its fix.")
    hub.add_argument("--instructor", action="append", metavar="LOGIN",
                     help="an instructor's OS login: the formgrader and the hub's admin page "
                          "(repeatable)")
    hub.add_argument("--ta", action="append", metavar="LOGIN",
                     help="a TA's OS login: the formgrader (repeatable)")
    hub.add_argument("--grader", metavar="LOGIN", default=None,
                     help="the account the formgrader and grading run as (default: the owner "
                          "of the course folder)")
    hub.add_argument("--exchange", type=Path, default=DEFAULT_EXCHANGE,
                     help=f"the shared exchange root (default: {DEFAULT_EXCHANGE}, nbgrader's "
                          "documented place; mode 1777)")
    hub.add_argument("--state-dir", type=Path, default=DEFAULT_STATE,
                     help=f"the hub's database, secrets and generated config (default: "
                          f"{DEFAULT_STATE})")
    hub.add_argument("--ip", default="127.0.0.1",
                     help="address the hub listens on (default: 127.0.0.1, this machine only; "
                          "0.0.0.0 for every network, behind HTTPS)")
    hub.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    hub.add_argument("--check", action="store_true",
                     help="check the machine and print what would start, then exit")
    hub.set_defaults(precheck=require_root)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``dlmath`` command."""
    args = build_parser().parse_args(argv)
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
