"""Nothing a student hands in runs in the instructor's browser: formgrader and feedback pages.

A course copy gets ex1 released and one submission per payload of the corpus
(``grader_tests/attacks.py``, ``hostile_content``: 41 kinds in written answers and in outputs
of the student's own code, plus markup in a student's name), and one honest submission with
rich content: LaTeX, a markdown table, a pasted image, and the graded plot. ``dlmath grade``
grades them all (every payload submission is the reference solution and scores 10/10), then
feedback is written with the course's configuration and with plain nbgrader's.

Headless Chromium then opens every submission in the formgrader of a real Jupyter server,
logged in as the instructor, and every feedback page, and clicks whatever ``javascript:`` or
``data:`` link a page offers. A payload that runs records itself and writes a file through the
server's API with the instructor's session; one that loads requests a ``pwned`` URL. With the
course's configuration nothing may happen, no active element may reach the page, and the
honest content must still show. Each layer is also checked alone: the Content-Security-Policy
without the sanitiser stops every script. Plain nbgrader is checked to run the payloads
(otherwise this test would prove nothing).
"""

from __future__ import annotations

import copy
import shutil
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from hostile_pages import observe, serve_mathjax, wait_for_mathjax
from lab_fixtures import (  # noqa: F401 - fixtures, used by name
    TOKEN,
    browser_context_fixture,
    page_fixture,
    screenshot_fixture,
    start_lab_fixture,
)
from nbgrader.api import Gradebook

from dlmath.course import copy_course, open_api
from dlmath.grading import grade
from dlmath.variants import Variant, build_submission

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "grader_tests"))
from attacks import (  # noqa: E402 - the corpus lives with the grader's other attacks
    ASSIGNMENT,
    HONEST_TEXT,
    NOTEBOOK,
    TINY_PNG,
    WRITTEN_ANSWER,
    HostileContent,
    cell,
    hostile_content,
    hostile_submission,
    js,
)

pytestmark = [pytest.mark.browser,
              pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning")]

REPO = Path(__file__).resolve().parents[2]
HONEST = "honest_rich"
NAMED = "name_markup"
# Plain nbgrader: its defaults, the course id, and an exchange so the formgrader is quiet.
PLAIN_CONFIG = """c = get_config()  # noqa: F821
c.CourseDirectory.course_id = "dlmath"
c.Exchange.root = {exchange!r}
"""
# The rich content honest work needs, in the written answer.
HONEST_ANSWER = (HONEST_TEXT + "\n\n| lr | factor along y |\n|---:|---:|\n| 0.05 | $0$ |\n"
                 "| 0.1 | $-1$ |\n\n$$\\rho = \\max_i |1 - \\eta \\lambda_i|$$\n\n"
                 "![my sketch](attachment:sketch.png)\n")
# Payloads that plain nbgrader 0.9.6 runs or loads (checked, so this test can fail).
PLAIN_RUNS = {"md_img_onerror", "md_script", "md_svg_onload", "md_details_ontoggle",
              "out_html_img", "out_html_script", "out_javascript", "out_markdown",
              "out_image_metadata", NAMED}
CSP_OFF = {"ServerApp": {"jpserver_extensions": {"dlmath.formgrader_csp": False}}}


@dataclass
class HostileCourse:
    """The graded course (course configuration) and its copy under plain nbgrader's."""

    course: Path
    plain: Path
    contents: list[HostileContent]

    @property
    def students(self) -> list[str]:
        """Every student: the honest one, the named one, then one per payload."""
        return [HONEST, NAMED, *(c.name for c in self.contents)]

    def submission_ids(self) -> dict[str, str]:
        """Student -> the formgrader's id of their ex1 notebook."""
        with Gradebook(f"sqlite:///{self.course / 'gradebook.db'}") as gradebook:
            return {s: gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s).id
                    for s in self.students}


def _write(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    target = course / "submitted" / student / ASSIGNMENT / NOTEBOOK
    target.parent.mkdir(parents=True)
    nbformat.write(nb, target)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> HostileCourse:
    """The corpus, graded by ``dlmath grade``, with feedback under both configurations."""
    root = tmp_path_factory.mktemp("hostile")
    course = copy_course(REPO, root / "course")
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.Exchange.root = {str(course / 'exchange')!r}\n")
    (course / "exchange").mkdir()
    api = open_api(course)
    assert api.generate_assignment(ASSIGNMENT, force=True, create=True)["success"]
    source = nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    reference = build_submission(source, release,
                                 Variant(ASSIGNMENT, "reference", "reference", ""))
    honest = copy.deepcopy(reference)
    written = cell(honest, WRITTEN_ANSWER)
    written.source = HONEST_ANSWER
    written["attachments"] = {"sketch.png": {"image/png": TINY_PNG}}
    _write(course, HONEST, honest)
    _write(course, NAMED, copy.deepcopy(reference))
    contents = hostile_content()
    for content in contents:
        _write(course, content.name, hostile_submission(content, copy.deepcopy(reference)))

    results = grade(api, course, [ASSIGNMENT])
    failed = {r.student: r.error for r in results if not r.ok}
    assert not failed, f"these submissions were not graded: {failed}"
    low = {r.student: r.auto_score for r in results if r.auto_score != r.auto_max}
    assert not low, f"hostile content must not cost the reference solution points: {low}"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_student(
            NAMED, first_name=f'<img src=x onerror="{js(NAMED)}">',
            last_name=f'<svg onload="{js(NAMED)}"></svg>')
    assert api.generate_feedback(ASSIGNMENT, force=True)["success"]

    plain = root / "plain"
    shutil.copytree(course, plain, ignore=shutil.ignore_patterns("feedback", "exchange"))
    (plain / "exchange").mkdir()
    (plain / "nbgrader_config.py").write_text(
        PLAIN_CONFIG.format(exchange=str(plain / "exchange")), encoding="utf-8")
    assert open_api(plain).generate_feedback(ASSIGNMENT, force=True)["success"]
    return HostileCourse(course, plain, contents)


def _server(start_lab, folder: Path, csp: bool):  # noqa: ANN001, ANN202 - fixture types
    return start_lab(lambda port: [sys.executable, "-m", "jupyterlab", "--no-browser",
                                   "--allow-root", "--ServerApp.ip=127.0.0.1",
                                   f"--ServerApp.port={port}",
                                   f"--ServerApp.root_dir={folder}"],
                     cwd=folder, server_config=None if csp else CSP_OFF)


def _formgrader(server, submission: str) -> str:  # noqa: ANN001 - LabServer
    return f"{server.url}/formgrader/submissions/{submission}/?token={TOKEN}"


def _feedback(folder: Path, student: str) -> str:
    return (folder / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").as_uri()


def _look_at_everything(page, hostile: HostileCourse, url, root: Path | None = None,  # noqa: ANN001
                        ) -> dict[str, object]:
    """student -> Observation of the page ``url(student)``, honest page first."""
    math = {c.name for c in hostile.contents if "$" in c.content}
    return {student: observe(page, url(student), server_root=root, math=student in math)
            for student in hostile.students}


def _extra_active(observations: dict) -> dict[str, Counter]:
    """Active elements each page has beyond the honest page's (the template's own)."""
    baseline = observations[HONEST].active
    return {s: o.active - baseline for s, o in observations.items() if o.active - baseline}


def test_formgrader_shows_hostile_submissions_inert(hostile: HostileCourse, start_lab,
                                                    browser_context, page,
                                                    screenshot) -> None:
    serve_mathjax(browser_context)
    server = _server(start_lab, hostile.course, csp=True)
    ids = hostile.submission_ids()

    # Honest rich content still shows: typeset math, the table, the plot and the pasted image.
    page.goto(_formgrader(server, ids[HONEST]))
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

    seen = _look_at_everything(page, hostile, lambda s: _formgrader(server, ids[s]), hostile.course)
    screenshot(page, "hostile-2-last-payload-submission")
    harmful = {s: o for s, o in seen.items() if not o.harmless}
    assert not harmful, f"hostile content ran or loaded in the formgrader: {harmful}"
    assert not _extra_active(seen), f"active elements reached the page: {_extra_active(seen)}"


def test_content_security_policy_alone_stops_every_script(hostile: HostileCourse, start_lab,
                                                          browser_context, page) -> None:
    # The plain folder renders without the sanitiser; its server still has the policy.
    serve_mathjax(browser_context)
    server = _server(start_lab, hostile.plain, csp=True)
    ids = hostile.submission_ids()
    seen = _look_at_everything(page, hostile, lambda s: _formgrader(server, ids[s]), hostile.plain)
    ran = {s: o.ran for s, o in seen.items() if o.ran or o.dialogs}
    assert not ran, f"scripts ran despite the Content-Security-Policy: {ran}"
    # The page still works under the policy: MathJax typesets the honest answer.
    page.goto(_formgrader(server, ids[HONEST]))
    assert wait_for_mathjax(page), "MathJax does not run under the Content-Security-Policy"


def test_plain_nbgrader_runs_the_payloads(hostile: HostileCourse, start_lab, page) -> None:
    # Without the sanitiser and without the policy (nbgrader 0.9.6 as it comes).
    server = _server(start_lab, hostile.plain, csp=False)
    ids = hostile.submission_ids()
    ran = {s for s in sorted(PLAIN_RUNS)
           if observe(page, _formgrader(server, ids[s]), server_root=hostile.plain).ran}
    assert ran == PLAIN_RUNS, f"payloads plain nbgrader should run but did not: {PLAIN_RUNS - ran}"


def test_feedback_pages_are_inert(hostile: HostileCourse, browser_context, page) -> None:
    serve_mathjax(browser_context)
    # (Feedback pages show no names.)
    seen = _look_at_everything(page, hostile, lambda s: _feedback(hostile.course, s))
    seen.pop(NAMED)
    harmful = {s: o for s, o in seen.items() if not o.harmless}
    assert not harmful, f"hostile content ran or loaded in the feedback: {harmful}"
    assert not _extra_active(seen), f"active elements reached the feedback: {_extra_active(seen)}"
    # A JavaScript output needs jQuery from a CDN in nbconvert's page (offline here).
    plain_runs = PLAIN_RUNS - {NAMED, "out_javascript"}
    ran = {s for s in sorted(plain_runs) if observe(page, _feedback(hostile.plain, s)).ran}
    assert ran == plain_runs, f"plain feedback should run these but did not: {plain_runs - ran}"
