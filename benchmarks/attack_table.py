"""The adversarial corpus graded twice: plain nbgrader 0.9.6 (its defaults) vs this course.

Builds every submission of ``grader_tests/attacks.py`` in two course folders, grades one with
plain ``nbgrader autograde`` under nbgrader's default preprocessors (no sandbox, tests in the
student's kernel) and the other with ``dlmath grade``, and prints a Markdown table: per attack
the autograded score each gave (of 10), what the plain run let through, and the findings of
ours. Attacks that would harm this machine without a sandbox (fork, memory and disk bombs)
are not run under plain nbgrader; the table says so.

    .venv/bin/python benchmarks/attack_table.py
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "grader_tests")]  # grader_tests.students, attacks

from attacks import ASSIGNMENT, ATTACKS, NOTEBOOK, write_submission_of  # noqa: E402
from test_attacks import hidden_test_lines  # noqa: E402

from dlmath.course import copy_course, open_api, tools_on_path  # noqa: E402
from dlmath.grading.pipeline import grade  # noqa: E402

HARMFUL_WITHOUT_SANDBOX = {"fork_bomb", "memory_bomb", "file_bomb", "disk_bomb"}
# Graded alone, after the others were scored: it rewrites everyone's grades.
LAST = "write_gradebook"
PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "dlmath"
c.Execute.timeout = 10
c.OverwriteCells.add_missing_cells = True
"""


def build(course: Path, names: list[str], marker: str, port: int) -> None:
    """Write the submissions of the attacks called ``names``."""
    for attack in ATTACKS:
        if attack.name in names:
            write_submission_of(attack, REPO / "grader_tests" / "variants", course, marker,
                                port)


def plain_scores(course: Path) -> dict[str, float | None]:
    """Autograded points per student from the plain run's gradebook (None: not graded)."""
    database = sqlite3.connect(course / "gradebook.db")
    rows = database.execute(
        "select a.student_id, sum(g.auto_score), count(g.id) from grade g "
        "join submitted_notebook n on g.notebook_id = n.id "
        "join submitted_assignment a on n.assignment_id = a.id "
        "join grade_cells c on g.cell_id = c.id where c.cell_type = 'code' "
        "group by a.student_id").fetchall()
    return {student: (score if count else None) for student, score, count in rows}


def leaks(course: Path, student: str) -> list[str]:
    """What the plain run let the attack get back in its autograded notebook."""
    path = course / "autograded" / student / ASSIGNMENT / NOTEBOOK
    if not path.is_file():
        return []
    text = "\n".join(str(o) for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "code" for o in c.get("outputs", []))
    signs = [sign for sign in ("LEAKED", "REWROTE", "CONNECTED") if sign in text]
    if any(line in text for line in hidden_test_lines()):
        signs.append("hidden tests")
    return signs


def main() -> int:
    """Grade the corpus both ways and print the table."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    port = server.getsockname()[1]
    marker = f"dlmath-attack-{uuid.uuid4().hex}"
    with tempfile.TemporaryDirectory() as scratch:
        plain = copy_course(REPO, Path(scratch) / "plain")
        (plain / "nbgrader_config.py").write_text(PLAIN_CONFIG)
        ours = copy_course(REPO, Path(scratch) / "ours")
        with (ours / "nbgrader_config.py").open("a") as config:
            config.write("\nc.Execute.timeout = 10\n")
        for course in (plain, ours):
            assert open_api(course).generate_assignment(ASSIGNMENT)["success"]
        names = [a.name for a in ATTACKS]
        build(plain, [n for n in names if n not in HARMFUL_WITHOUT_SANDBOX | {LAST}], marker, port)
        build(ours, names, marker, port)
        nbgrader = str(Path(sys.executable).parent / "nbgrader")
        subprocess.run([nbgrader, "autograde", ASSIGNMENT], cwd=plain, capture_output=True,
                       check=False)
        plain_points = plain_scores(plain)
        build(plain, [LAST], marker, port)
        subprocess.run([nbgrader, "autograde", ASSIGNMENT, "--student", LAST], cwd=plain,
                       capture_output=True, check=False)
        after_last = plain_scores(plain)
        plain_points[LAST] = after_last.get(LAST)
        rewritten = sum(after_last.get(s) != p for s, p in plain_points.items() if s != LAST)
        results = {r.student: r for r in grade(open_api(ours), ours, [ASSIGNMENT])}
        print("| attack | plain nbgrader 0.9.6 | this course |")
        print("|---|---|---|")
        for attack in ATTACKS:
            if attack.name in HARMFUL_WITHOUT_SANDBOX:
                before = f"not run here: {attack.plain}"
            else:
                points = plain_points.get(attack.name)
                before = "not graded" if points is None else f"{points:g}/10"
                seen = leaks(plain, attack.name)
                if seen:
                    before += f" ({', '.join(seen)} in its output)"
                if attack.name == LAST:
                    before += f"; {rewritten} other students' scores changed"
            result = results[attack.name]
            if result.ok:
                kinds = sorted({f.kind for f in result.findings})
                after = f"{result.auto_score:g}/10" + (f", flagged: {', '.join(kinds)}"
                                                        if kinds else "")
            else:
                after = f"not graded: {result.error.split(';')[0]}"
            print(f"| {attack.tries} | {before} | {after} |")
    # Plain nbgrader let the detached process live on: stop it.
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        if marker in " ".join(process.info["cmdline"] or []):
            process.kill()
    return 0


if __name__ == "__main__":
    tools_on_path(os.environ)  # nbgrader runs `alembic` by name, as under `dlmath`
    sys.exit(main())
