"""Grading survives the adversarial corpus (``attacks.py``), and hostile work harms no one.

Every attack is graded in one run, after a small honest class was graded. Each must get
exactly the scores and integrity findings it declares; the honest students' gradebook rows
and files must be byte-for-byte what they were; nothing the attacks started may survive;
nothing may reach the network; and no hidden test, gradebook or other student's work may
appear anywhere in what the attackers get back.
"""

from __future__ import annotations

import socket
import sqlite3
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
import pytest
from attacks import ALL_TESTS, ASSIGNMENT, ATTACKS, NOTEBOOK, Attack, write_submission_of
from test_release import REGION

from dlmath.course import copy_course, open_api
from dlmath.grading.pipeline import SubmissionResult, grade
from grader_tests.students import (
    REPO,
    VARIANTS_ROOT,
    load_variants,
    use_harness_secret,
    write_submission,
)

HONEST = ("reference", "gd_ascent_sign", "steps_off_by_one")
# Smaller limits than the course's keep the corpus fast: the attacks that time out on purpose
# (three of them) take the timeout, and run once, not twice (test_preprocessors.py tests the
# retry of a notebook that timed out). 30 s leaves a margin for the others on a busy machine:
# the slowest (a flood of output, a fork bomb meeting the process limit) took 10 s and 15 s on
# this two-core machine under a load average of 8 to 22, where a 10 s limit failed them.
CORPUS_CONFIG = """
c.Execute.timeout = 30
c.SafeExecute.retry_timeouts = False
c.SandboxedKernelManager.memory_limit = 2 * 2**30
"""


@dataclass
class Corpus:
    """The graded corpus and what was observed around it."""

    course: Path
    results: dict[str, SubmissionResult]
    honest_before: dict[str, object]
    honest_after: dict[str, object]
    connections: list[tuple[str, int]]
    marker: str


def honest_state(course: Path) -> dict[str, object]:
    """Every gradebook row and autograded file of the honest students, as raw values."""
    database = sqlite3.connect(course / "gradebook.db")
    state: dict[str, object] = {}
    for student in (f"honest_{name}" for name in HONEST):
        state[f"{student}/student"] = database.execute(
            "select * from student where id = ?", (student,)).fetchall()
        state[f"{student}/submission"] = database.execute(
            "select * from submitted_assignment where student_id = ?", (student,)).fetchall()
        for table in ("grade", "comment"):
            state[f"{student}/{table}"] = database.execute(
                f"select {table}.* from {table} join submitted_notebook n on "  # noqa: S608
                f"{table}.notebook_id = n.id join submitted_assignment a on "
                "n.assignment_id = a.id where a.student_id = ? order by 1", (student,)).fetchall()
        for path in sorted((course / "autograded" / student).rglob("*")):
            if path.is_file():
                state[str(path.relative_to(course))] = path.read_bytes()
    database.close()
    return state


def listen() -> tuple[int, list[tuple[str, int]]]:
    """A TCP listener on loopback recording every connection it accepts."""
    server = socket.create_server(("127.0.0.1", 0))
    connections: list[tuple[str, int]] = []

    def accept() -> None:
        while True:
            try:
                client, address = server.accept()
            except OSError:
                return
            connections.append(address)
            client.close()

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[1], connections


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    course = copy_course(REPO, tmp_path_factory.mktemp("attacks") / "course")
    with (course / "nbgrader_config.py").open("a") as config:
        config.write(CORPUS_CONFIG)
    use_harness_secret(course)
    api = open_api(course)
    assert api.generate_assignment(ASSIGNMENT)["success"]
    variants = {v.name: v for v in load_variants(VARIANTS_ROOT, ASSIGNMENT)}
    for name in HONEST:
        write_submission(course, f"honest_{name}", variants[name])
    assert all(r.ok for r in grade(api, course, [ASSIGNMENT]))
    before = honest_state(course)

    port, connections = listen()
    marker = f"dlmath-attack-{uuid.uuid4().hex}"
    for attack in ATTACKS:
        write_submission_of(attack, VARIANTS_ROOT, course, marker, port)
    results = grade(api, course, [ASSIGNMENT], students=[a.name for a in ATTACKS])
    return Corpus(course, {r.student: r for r in results}, before, honest_state(course),
                  connections, marker)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda a: a.name)
def test_attack_gets_exactly_its_scores_and_findings(attack: Attack, corpus: Corpus) -> None:
    result = corpus.results[attack.name]
    if not attack.graded:
        assert not result.ok, f"{attack.name} should not be graded"
        assert attack.error in result.error, result.error
        return
    assert result.ok, f"{attack.name} was not graded: {result.error}"
    scores = {c.name: c.score for c in result.cells if c.autograded}
    expected = {c.name: 0.0 if c.name in attack.loses else c.max_score
                for c in result.cells if c.autograded}
    assert set(scores) == ALL_TESTS
    assert scores == expected, f"{attack.name} ({attack.tries})"
    kinds = {f.kind for f in result.findings}
    assert attack.findings <= kinds <= attack.findings | attack.may_also, \
        [str(f) for f in result.findings]


def test_honest_students_are_byte_for_byte_unchanged(corpus: Corpus) -> None:
    assert corpus.honest_after == corpus.honest_before


def test_no_process_started_by_a_submission_survives(corpus: Corpus) -> None:
    survivors = [p.pid for p in psutil.process_iter(["cmdline"])
                 if corpus.marker in " ".join(p.info["cmdline"] or [])]
    assert survivors == []


def test_no_submission_reached_the_network(corpus: Corpus) -> None:
    assert corpus.connections == []


def outputs_text(course: Path, student: str) -> str:
    """Everything a student gets back in their autograded notebook: sources and outputs."""
    path = course / "autograded" / student / ASSIGNMENT / NOTEBOOK
    if not path.is_file():
        return ""
    nb = nbformat.read(path, as_version=4)
    return "\n".join(str(output) for c in nb.cells if c.cell_type == "code"
                     for output in c.get("outputs", []))


def hidden_test_lines() -> set[str]:
    """Substantial lines of the hidden tests that appear nowhere else in the notebook."""
    source = nbformat.read(REPO / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    hidden, public = set(), set()
    for cell in source.cells:
        for kind, body in REGION.findall(cell.source):
            if kind == "HIDDEN TESTS":
                hidden.update(line.strip() for line in body.splitlines() if len(line.strip()) >= 25)
        public.update(line.strip() for line in REGION.sub("", cell.source).splitlines())
    return hidden - public


def test_nothing_secret_reaches_the_attackers(corpus: Corpus) -> None:
    hidden = hidden_test_lines()
    assert hidden
    for attack in ATTACKS:
        text = outputs_text(corpus.course, attack.name)
        for sign in ("LEAKED", "REWROTE", "CONNECTED"):
            assert sign not in text, f"{attack.name}: {sign}"
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{attack.name} got hidden test lines: {leaked[:2]}"
