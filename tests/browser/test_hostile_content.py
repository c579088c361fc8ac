"""Nothing a student hands in runs in the instructor's browser: formgrader and feedback pages.

A course copy gets ex1 released and one submission per payload of the corpus
(``grader_tests/attacks.py``, ``hostile_content``: 41 kinds in written answers and in outputs
of the student's own code, plus markup in a student's name), and one honest submission with
rich content: LaTeX, a markdown table, a pasted image, and the graded plot. ``dlmath grade``
grades them all (every payload submission is the reference solution and scores 10/10), then
feedback is written with the course's configuration and with plain nbgrader's
(``hostile_pages.build_hostile_course``).

Headless Chromium then opens every submission in the formgrader of a real Jupyter server,
logged in as the instructor, and every feedback page, and clicks whatever ``javascript:`` or
``data:`` link a page offers. A payload that runs records itself and writes a file through the
server's API with the instructor's session; one that loads requests a ``pwned`` URL. With the
course's configuration nothing may happen, no active element may reach the page, and the
honest content must still show. The Content-Security-Policy is also checked alone: without
the sanitiser it stops every script. Plain nbgrader is checked to run the payloads (otherwise
this test would prove nothing).
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pytest
from hostile_pages import (
    CSP_OFF,
    HONEST,
    NAMED,
    PLAIN_RUNS,
    HostileCourse,
    Observation,
    build_hostile_course,
    observe,
    serve_mathjax,
    wait_for_mathjax,
)
from lab_fixtures import (  # noqa: F401 - fixtures, used by name
    TOKEN,
    browser_context_fixture,
    page_fixture,
    screenshot_fixture,
    start_lab_fixture,
)

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileCourse:
    """The corpus, graded by ``dlmath grade``, with feedback under both configurations."""
    return build_hostile_course(tmp_path_factory.mktemp("hostile"))


def _server(start_lab, folder: Path, csp: bool):  # noqa: ANN001, ANN202 - fixture types
    return start_lab(lambda port: [sys.executable, "-m", "jupyterlab", "--no-browser",
                                   "--allow-root", "--ServerApp.ip=127.0.0.1",
                                   f"--ServerApp.port={port}",
                                   f"--ServerApp.root_dir={folder}"],
                     cwd=folder, server_config=None if csp else CSP_OFF)


def _look(page, hostile: HostileCourse, url, students=None,  # noqa: ANN001
          root: Path | None = None) -> dict[str, Observation]:
    """student -> what happened on the page ``url(student)``."""
    return {s: observe(page, url(s), server_root=root, math=hostile.needs_math(s))
            for s in (students or hostile.students)}


def _extra_active(observations: dict[str, Observation]) -> dict[str, Counter]:
    """Active elements each page has beyond the honest page's (the template's own)."""
    baseline = observations[HONEST].active
    return {s: o.active - baseline for s, o in observations.items() if o.active - baseline}


def test_formgrader_shows_hostile_submissions_inert(hostile: HostileCourse, start_lab,
                                                    browser_context, page,
                                                    screenshot) -> None:
    serve_mathjax(browser_context)
    server = _server(start_lab, hostile.course, csp=True)

    # Honest rich content still shows: typeset math, the table, the plot and the pasted image.
    page.goto(hostile.formgrader_url(server.url, HONEST, TOKEN))
    assert wait_for_mathjax(page), "MathJax did not typeset the honest written answer"
    text = page.inner_text("#notebook-container")
    assert "factor along y" in text and "0.05" in text, "the markdown table is missing"
    images = page.evaluate("() => [...document.querySelectorAll('#notebook-container img')]"
                           ".filter(i => i.src.startsWith('data:image/png') && i.naturalWidth > 0)"
                           ".map(i => i.alt || 'plot')")
    assert "my sketch" in images and len(images) >= 2, f"images shown: {images}"
    math = page.evaluate("() => [...document.querySelectorAll('script[type^=\"math/tex\"]')]"
                         ".map(s => s.textContent)")
    assert any("\\max_i |1 - \\eta \\lambda_i|" in m for m in math), f"typeset TeX: {math}"
    screenshot(page, "hostile-1-honest-submission")

    seen = _look(page, hostile, lambda s: hostile.formgrader_url(server.url, s, TOKEN),
                 root=hostile.course)
    screenshot(page, "hostile-2-last-payload-submission")
    harmful = {s: o for s, o in seen.items() if not o.harmless}
    assert not harmful, f"hostile content ran or loaded in the formgrader: {harmful}"
    assert not _extra_active(seen), f"active elements reached the page: {_extra_active(seen)}"


def test_content_security_policy_alone_stops_every_script(hostile: HostileCourse, start_lab,
                                                          browser_context, page) -> None:
    # The plain folder renders without the sanitiser; its server still has the policy.
    serve_mathjax(browser_context)
    server = _server(start_lab, hostile.plain, csp=True)
    seen = _look(page, hostile, lambda s: hostile.formgrader_url(server.url, s, TOKEN),
                 root=hostile.plain)
    ran = {s: o.ran for s, o in seen.items() if o.ran or o.dialogs}
    assert not ran, f"scripts ran despite the Content-Security-Policy: {ran}"
    # The page still works under the policy: MathJax typesets the honest answer.
    page.goto(hostile.formgrader_url(server.url, HONEST, TOKEN))
    assert wait_for_mathjax(page), "MathJax does not run under the Content-Security-Policy"


def test_plain_nbgrader_runs_the_payloads(hostile: HostileCourse, start_lab, page) -> None:
    # Without the sanitiser and without the policy (nbgrader 0.9.6 as it comes).
    server = _server(start_lab, hostile.plain, csp=False)
    seen = _look(page, hostile, lambda s: hostile.formgrader_url(server.url, s, TOKEN),
                 sorted(PLAIN_RUNS), root=hostile.plain)
    ran = {s for s, o in seen.items() if o.ran}
    assert ran == PLAIN_RUNS, f"payloads plain nbgrader should run but did not: {PLAIN_RUNS - ran}"


def test_feedback_pages_are_inert(hostile: HostileCourse, browser_context, page) -> None:
    serve_mathjax(browser_context)
    seen = _look(page, hostile, lambda s: hostile.feedback_url(hostile.course, s))
    seen.pop(NAMED)  # (feedback pages show no names)
    harmful = {s: o for s, o in seen.items() if not o.harmless}
    assert not harmful, f"hostile content ran or loaded in the feedback: {harmful}"
    assert not _extra_active(seen), f"active elements reached the feedback: {_extra_active(seen)}"
    # A JavaScript output needs jQuery from a CDN in nbconvert's page (offline here).
    plain_runs = PLAIN_RUNS - {NAMED, "out_javascript"}
    plain = _look(page, hostile, lambda s: hostile.feedback_url(hostile.plain, s),
                  sorted(plain_runs))
    ran = {s for s, o in plain.items() if o.ran}
    assert ran == plain_runs, f"plain feedback should run these but did not: {plain_runs - ran}"
