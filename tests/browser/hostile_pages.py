"""Hostile content graded, then looked at as an instructor would: what ran, loaded or stayed.

Shared by ``test_hostile_content.py`` and ``benchmarks/rendering_attack_table.py``.
:func:`build_hostile_course` grades one submission per payload of the corpus
(``grader_tests/attacks.py``, ``hostile_content``) and writes feedback with the course's
configuration and with plain nbgrader's. A payload that runs records its name in
``window.__pwned``, renames the page and writes ``pwned-<name>.txt`` through the server's API;
one that loads requests a URL with ``pwned`` in it. :func:`observe` opens a page, waits for
it (and for MathJax), clicks every ``javascript:`` or ``data:`` link or button as a curious
grader might, and returns all of that, plus the active elements the page holds.
"""

from __future__ import annotations

import copy
import re
import shutil
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from nbgrader.api import Gradebook

from dlmath.course import copy_course, open_api
from dlmath.grading.pipeline import grade
from grader_tests.students import Variant, build_submission

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page, Route

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "grader_tests"))
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
# Payloads that plain nbgrader 0.9.6 runs or loads (checked, so the tests can fail).
PLAIN_RUNS = {"md_img_onerror", "md_script", "md_svg_onload", "md_details_ontoggle",
              "out_html_img", "out_html_script", "out_javascript", "out_markdown",
              "out_image_metadata", NAMED}
# A Jupyter server config without the course's Content-Security-Policy.
CSP_OFF = {"ServerApp": {"jpserver_extensions": {"dlmath.rendering.formgrader_csp": False}}}


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

    def formgrader_url(self, server_url: str, student: str, token: str) -> str:
        """The formgrader's page of ``student``'s submission."""
        return (f"{server_url}/formgrader/submissions/{self.submission_ids()[student]}/"
                f"?token={token}")

    @staticmethod
    def feedback_url(folder: Path, student: str) -> str:
        """The feedback page of ``student`` written in ``folder``."""
        return (folder / "feedback" / student / ASSIGNMENT / f"{ASSIGNMENT}.html").as_uri()

    def needs_math(self, student: str) -> bool:
        """Whether the student's payload is math that MathJax must render first."""
        return any(c.name == student and "$" in c.content for c in self.contents)


def _write(course: Path, student: str, nb: nbformat.NotebookNode) -> None:
    target = course / "submitted" / student / ASSIGNMENT / NOTEBOOK
    target.parent.mkdir(parents=True)
    nbformat.write(nb, target)


def build_hostile_course(root: Path) -> HostileCourse:
    """The corpus graded by ``dlmath grade`` in ``root/course``, with feedback, and a copy
    in ``root/plain`` whose feedback plain nbgrader wrote."""
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
MATHJAX = REPO / ".cache" / "mathjax"
MATHJAX_CDN = re.compile(r"^https://cdnjs\.cloudflare\.com/ajax/libs/mathjax/[^/]+/(?P<path>[^?]*)")

# Elements and attributes that can run script, load something, or submit something; and
# classes the formgrader's scripts bind to. Listed per page by ACTIVE_SCAN.
ACTIVE_SCAN = """
() => {
  const found = [];
  const tags = ['script', 'iframe', 'frame', 'object', 'embed', 'base', 'meta', 'link', 'style',
                'form', 'input', 'button', 'textarea', 'select', 'svg', 'math', 'video', 'audio',
                'source', 'noscript', 'template'];
  const grading = ['score', 'comment', 'tabbable', 'extra-credit', 'full-credit', 'no-credit',
                   'mark-graded'];
  for (const el of document.querySelectorAll('body *')) {
    const tag = el.tagName.toLowerCase();
    if (tag === 'script' && /^math\\//.test(el.type || '')) continue;  // MathJax's own store
    if (el.closest('#MathJax_Message, .MathJax_Preview, .MathJax_CHTML, .mjx-chtml')) continue;
    if (tags.includes(tag)) found.push(tag);
    for (const attribute of el.attributes) {
      const name = attribute.name.toLowerCase();
      const value = attribute.value.replace(/[\\s\\u0000-\\u001f]/g, '').toLowerCase();
      if (name.startsWith('on')) found.push(`${tag}[${name}]`);
      const urls = ['href', 'src', 'action', 'formaction', 'data', 'xlink:href', 'srcdoc'];
      if (urls.includes(name) && /^(javascript|vbscript|data:text)/.test(value)) {
        found.push(`${tag}[${name}=${value.slice(0, 11)}]`);
      }
    }
    const position = getComputedStyle(el).position;
    if (position === 'fixed' || position === 'absolute') found.push(`${tag}{position:${position}}`);
    if (el.id && document.querySelectorAll('#' + CSS.escape(el.id)).length > 1) {
      found.push(`duplicate id ${el.id}`);
    }
    for (const name of grading) if (el.classList.contains(name)) found.push(`${tag}.${name}`);
  }
  return found;
}
"""

# Anything a curious grader could click that would run script.
CLICKABLE = """
() => {
  const hits = [];
  const links = 'a[href], area[href], button[formaction], input[formaction]';
  for (const el of document.querySelectorAll(links)) {
    const url = (el.href || el.formAction || '').replace(/[\\s\\u0000-\\u001f]/g, '');
    if (/^(javascript|data):/i.test(url)) {
      el.setAttribute('data-dlmath-click', String(hits.length));
      hits.push(url.slice(0, 20));
    }
  }
  return hits.length;
}
"""


@dataclass
class Observation:
    """What happened while a page was open."""

    ran: set[str] = field(default_factory=set)
    loaded: set[str] = field(default_factory=set)
    active: Counter = field(default_factory=Counter)
    dialogs: int = 0
    external: set[str] = field(default_factory=set)

    @property
    def harmless(self) -> bool:
        """Nothing ran, nothing hostile loaded, no dialog, nothing from elsewhere."""
        return not (self.ran or self.loaded or self.dialogs or self.external)


def serve_mathjax(context: BrowserContext) -> None:
    """Serve MathJax's CDN from the copy bin/setup --test downloaded (the tests are offline)."""
    if not (MATHJAX / "MathJax.js").is_file():
        raise FileNotFoundError(f"{MATHJAX}/MathJax.js is missing: run bin/setup --test")

    def cdn(route: Route) -> None:
        match = MATHJAX_CDN.match(route.request.url)
        path = (MATHJAX / match.group("path")).resolve() if match else None
        if path is None or MATHJAX not in path.parents or not path.is_file():
            route.fulfill(status=404)
        else:
            route.fulfill(path=str(path))

    context.route("https://cdnjs.cloudflare.com/ajax/libs/mathjax/**", cdn)
    # latest.js asks cdnjs's API which 2.x is the newest.
    context.route("https://api.cdnjs.com/**",
                  lambda route: route.fulfill(json={"version": "2.7.9"}))


def wait_for_mathjax(page: Page, seconds: float = 30) -> bool:
    """Wait until MathJax (if the page loads it) has typeset the page; True if it did."""
    try:
        page.wait_for_function(
            "() => window.MathJax && MathJax.Hub && MathJax.Hub.queue && "
            "MathJax.Hub.queue.pending === 0 && !MathJax.Hub.queue.running "
            "&& document.querySelectorAll('.MathJax_CHTML, .mjx-chtml').length > 0",
            timeout=seconds * 1000)
        return True
    except Exception:  # noqa: BLE001 - Playwright's TimeoutError: no typeset math
        return False


def observe(page: Page, url: str, *, server_root: Path | None = None, math: bool = False,
            settle_ms: int = 400) -> Observation:
    """Open ``url`` in ``page``, click what a grader might, and report what happened.

    Image errors and load handlers have fired once the page's load event has; ``settle_ms``
    more lets asynchronous ones finish. ``math``: also wait for MathJax to typeset the page
    (its links exist only then).
    """
    seen = Observation()
    origin = re.match(r"^(https?://[^/]+|file://)", url).group(1)

    def on_request(request) -> None:  # noqa: ANN001 - Playwright's Request
        if "pwned" in request.url:
            seen.loaded.add(request.url.rsplit("/", 1)[-1][:60])
        elif not request.url.startswith((origin, "data:", "about:", "blob:")) \
                and not MATHJAX_CDN.match(request.url) and "api.cdnjs.com" not in request.url:
            seen.external.add(request.url[:80])

    def on_dialog(dialog) -> None:  # noqa: ANN001 - Playwright's Dialog
        seen.dialogs += 1
        dialog.dismiss()

    page.on("request", on_request)
    page.on("dialog", on_dialog)
    try:
        page.goto(url, wait_until="load")
        if math:
            wait_for_mathjax(page, seconds=15)
        page.wait_for_timeout(settle_ms)
        seen.active = Counter(page.evaluate(ACTIVE_SCAN))
        for index in range(page.evaluate(CLICKABLE)):
            try:
                page.locator(f'[data-dlmath-click="{index}"]').click(
                    timeout=3000, force=True, no_wait_after=True)
            except Exception:  # noqa: BLE001 - hidden or detached: nothing to click
                pass
        page.wait_for_timeout(300)
        ran = page.evaluate("() => window.top.__pwned || []") if not page.is_closed() else []
        seen.ran.update(ran)
        title = page.title()
        if title.startswith("PWNED "):
            seen.ran.add(title.split(" ", 1)[1])
    finally:
        page.remove_listener("request", on_request)
        page.remove_listener("dialog", on_dialog)
    if server_root is not None:  # what scripts wrote with the viewer's session (then removed)
        for written in server_root.glob("pwned-*.txt"):
            seen.ran.add(written.stem.removeprefix("pwned-"))
            written.unlink()
    return seen
