"""Hostile student content in the pages the course renders: plain nbgrader 0.9.6 vs this course.

Grades one submission per payload of ``grader_tests/attacks.py`` (``hostile_content``) with
``dlmath grade``, writes feedback with plain nbgrader's configuration and with the course's,
then opens every submission in the formgrader of a real Jupyter server (headless Chromium,
logged in as the instructor) under four configurations: plain nbgrader, the
Content-Security-Policy alone, the sanitiser alone, and the course (both); and every feedback
page. Prints a Markdown table: per payload, what happened in each (``ran``: its script ran and
used the instructor's session; ``loaded``: it made the browser fetch something; ``kept``: an
active element or a page-covering box reached the page; ``-``: nothing).

    .venv/bin/python benchmarks/rendering_attack_table.py       (about 10 minutes)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "browser")]  # grader_tests.students, fixtures

from hostile_pages import (  # noqa: E402
    CSP_OFF,
    HONEST,
    NAMED,
    HostileCourse,
    Observation,
    build_hostile_course,
    observe,
    serve_mathjax,
)
from lab_fixtures import CHROMIUM, CHROMIUM_ARGS, TOKEN, VIEWPORT, launch, stop  # noqa: E402


def outcome(seen: Observation, baseline: Observation) -> str:
    """One cell of the table."""
    if seen.ran or seen.dialogs:
        return "ran"
    if seen.loaded or seen.external:
        return "loaded"
    return "kept" if seen.active - baseline.active else "-"


def formgrader(context, hostile: HostileCourse, folder: Path, csp: bool,  # noqa: ANN001
               scratch: Path) -> dict[str, Observation]:
    """Every submission's formgrader page, with the course's folder ``folder``."""
    home = Path(tempfile.mkdtemp(dir=scratch))
    with open(home / "server.log", "w", encoding="utf-8") as log:
        process, server = launch(
            lambda port: [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
                          "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
                          f"--ServerApp.root_dir={folder}"],
            folder, home, log, None if csp else CSP_OFF)
        try:
            page = context.new_page()
            return {s: observe(page, hostile.formgrader_url(server.url, s, TOKEN),
                               server_root=folder, math=hostile.needs_math(s))
                    for s in hostile.students}
        finally:
            stop(process)


def main() -> int:
    """Grade the corpus, look at every page under every configuration, print the table."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as scratch_name, sync_playwright() as playwright:
        scratch = Path(scratch_name)
        hostile = build_hostile_course(scratch / "hostile")
        context = playwright.chromium.launch_persistent_context(
            str(scratch / "profile"), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport=VIEWPORT)
        context.set_default_timeout(60_000)
        serve_mathjax(context)
        columns = {
            "formgrader: plain nbgrader": formgrader(context, hostile, hostile.plain, False,
                                                     scratch),
            "formgrader: policy only": formgrader(context, hostile, hostile.plain, True,
                                                  scratch),
            "formgrader: sanitiser only": formgrader(context, hostile, hostile.course, False,
                                                     scratch),
            "formgrader: this course": formgrader(context, hostile, hostile.course, True,
                                                  scratch),
        }
        page = context.new_page()
        for label, folder in (("feedback: plain nbgrader", hostile.plain),
                              ("feedback: this course", hostile.course)):
            columns[label] = {s: observe(page, hostile.feedback_url(folder, s),
                                         math=hostile.needs_math(s))
                              for s in hostile.students if s != NAMED}
        context.close()
    tries = {c.name: c.tries for c in hostile.contents}
    tries[NAMED] = "markup in the student's name (from the LMS roster)"
    print("| payload | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for student in hostile.students:
        if student == HONEST:
            continue
        cells = [outcome(seen[student], seen[HONEST]) if student in seen else "n/a"
                 for seen in columns.values()]
        print(f"| {tries[student]} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
