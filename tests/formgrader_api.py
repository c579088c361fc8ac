"""nbgrader's formgrader as a TA's browser uses it: its REST API on a real Jupyter server.

``formgrader(course, home, log)`` starts ``jupyter server`` in the course folder (nbgrader's
formgrader extension loads there, with the course's ``nbgrader_config.py``, as in the
instructor's JupyterLab) and yields a client of its API. The requests are those the
formgrader's grading page sends when a score or comment box is left.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from browser.lab_fixtures import TOKEN, launch, stop
from nbgrader.api import Gradebook


def written_answers(url: str, assignment: str, students: list[str]) -> dict[str, tuple[str, str]]:
    """Per student: the database ids of the written answer's grade and comment in the
    gradebook at ``url`` (the ids the formgrader's API takes); each notebook is named as its
    assignment and has one written answer."""
    with Gradebook(url) as gradebook:
        ids = {}
        for student in students:
            notebook = gradebook.find_submission_notebook(assignment, assignment, student)
            grade_row, = [g for g in notebook.grades if g.cell.cell_type == "markdown"]
            comment, = [c for c in notebook.comments if c.cell.name == grade_row.cell.name]
            ids[student] = (grade_row.id, comment.id)
        return ids


@dataclass
class Formgrader:
    """A client of one formgrader's REST API (token-authenticated, as Jupyter's API is)."""

    url: str

    def request(self, method: str, path: str, body: dict | None = None) -> object:
        """``method`` on ``/formgrader/api/<path>``; the decoded JSON reply. An HTTP error
        status raises urllib's HTTPError."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/formgrader/api/{path}", data=data,
                                         method=method,
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=60) as reply:
            return json.loads(reply.read() or b"null")

    def set_score(self, grade_id: str, score: float) -> dict:
        """Score a cell by hand (the grade's database id, not its cell name)."""
        return self.request("PUT", f"grade/{grade_id}", {"manual_score": score})

    def set_comment(self, comment_id: str, text: str) -> dict:
        """Write a grader's comment on a cell (the comment's database id)."""
        return self.request("PUT", f"comment/{comment_id}", {"manual_comment": text})


@contextmanager
def formgrader(course: Path, home: Path, log: Path) -> Iterator[Formgrader]:
    """A Jupyter server in ``course`` with private Jupyter folders under ``home`` and its
    output in ``log``; stopped (with its process group) at the end."""
    def command(port: int) -> list[str]:
        return [sys.executable, "-m", "jupyter_server", "--no-browser", "--allow-root",
                "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                f"--ServerApp.root_dir={course}"]

    with open(log, "w", encoding="utf-8") as output:
        process, server = launch(command, course, home, output)
        try:
            yield Formgrader(server.url)
        finally:
            stop(process)
