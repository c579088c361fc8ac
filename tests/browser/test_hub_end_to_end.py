"""A whole class on the course's JupyterHub, end to end: `dlmath hub` on loopback with an
instructor and three students (real OS accounts, tests/hub_class.py), driven through the Hub's
REST API and headless Chromium.

1. The instructor releases ex1 (the formgrader service's Release, through its API).
2. Student 1 logs in at the hub's login page, fetches ex1 in the Assignments tab, answers every
   task, validates (success) and submits, in the browser.
3. Student 2 does the same through the REST API with a wrong answer (Validate names the check).
4. Student 3 tries to read student 1's submission: through the hub (403) and as their own OS
   user, knowing its folder name (permission denied).
5. The instructor collects (the formgrader's Collect), runs `dlmath grade` as the grader
   account, opens the formgrader as a service in the browser (it shows, in JupyterLab's frame,
   behind JupyterHub's frame-ancestors), grades student 1's written answer, and releases
   feedback.
6. Student 1 fetches the feedback in the browser: scores, and no hidden test.

Screenshots go to test-artifacts/browser/hub-*.png, the hub's log beside them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator

import nbformat
import pytest
from hub_class import (
    ASSIGNMENT,
    DLMATH,
    HubClass,
    RunningHub,
    start_hub,
    stop_hub,
)
from lab_fixtures import (  # noqa: F401 - fixtures, used by name
    ARTIFACTS,
    browser_context_fixture,
    page_fixture,
    screenshot_fixture,
)
from lab_ui import (
    WRONG_STEPS_TO_TOLERANCE,
    answers,
    assert_visible_checks_pass,
    close_dialog,
    grade_ids,
    menu,
    menu_items,
    paste_into_cell,
    validate,
)
from nbgrader.api import Gradebook

from dlmath.course import repository_root

pytestmark = [
    pytest.mark.browser,
    pytest.mark.hub,
    pytest.mark.filterwarnings("ignore::sqlalchemy.exc.SAWarning"),
]

REPO = repository_root()
COURSE = "dlmath"
WRITTEN_SCORE = 1.5


@pytest.fixture(scope="module")
def hub() -> Iterator[RunningHub]:
    hub_class = HubClass.make(3)
    try:
        running = start_hub(hub_class, ARTIFACTS / "hub-server.log")
        try:
            yield running
        finally:
            stop_hub(running)
    finally:
        hub_class.remove()


def hidden_test_lines(assignment: str) -> list[str]:
    """The lines of the source notebook's hidden tests that a student never sees: between
    BEGIN/END HIDDEN TESTS, longer than 20 characters, and not part of the released notebook."""
    source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    release = nbformat.read(REPO / "release" / assignment / f"{assignment}.ipynb", as_version=4)
    released = "\n".join(cell.source for cell in release.cells)
    lines = []
    for cell in source.cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                                cell.source, re.DOTALL):
            lines += [line.strip() for line in block.splitlines()
                      if len(line.strip()) > 20 and line.strip() not in released]
    assert len(lines) > 10, f"{assignment} has too few hidden test lines to check: {lines}"
    return lines


def log_in(page, hub: RunningHub, login: str, password: str, then: str = "/hub/") -> None:  # noqa: ANN001
    """Log out whoever is logged in, then log in at the hub's login page as a person does and
    wait until JupyterLab (at ``then``: the user's own, by default) shows its Nbgrader menu."""
    page.goto(f"{hub.url}/hub/logout")
    page.goto(f"{hub.url}/hub/login?next={then}")
    page.fill("#username_input", login)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for(timeout=180_000)


def formgrader_api(hub: RunningHub, session, path: str) -> dict:  # noqa: ANN001
    """POST to the formgrader service's API (what its buttons do); the reply must succeed."""
    reply = session.post(f"{hub.url}/services/{COURSE}/formgrader/api/assignment/{ASSIGNMENT}"
                         f"/{path}", timeout=600)
    assert reply.ok, (reply.status_code, reply.text)
    outcome = reply.json()
    assert outcome["success"], outcome
    return outcome


def test_a_class_on_the_hub(hub: RunningHub, page, screenshot) -> None:  # noqa: ANN001
    # Hub pages behind the proxy, on two cores shared with other work: patient page loads.
    page.set_default_timeout(120_000)
    k = hub.hub_class
    s1, s2, s3 = k.students
    started = time.monotonic()
    release, correct = answers(REPO, ASSIGNMENT)
    position = {g: i for i, g in enumerate(grade_ids(release)) if g}

    # The hub's users are the roster's students and the instructor.
    teacher = hub.session(k.instructor)
    users = {u["name"] for u in teacher.get(f"{hub.url}/hub/api/users", timeout=60).json()}
    assert users == {s.login for s in k.students} | {k.instructor.login}

    # 1. The instructor releases ex1.
    formgrader_api(hub, teacher, "release")

    # 2. Student 1, in the browser: log in, fetch, answer, validate, submit.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hub.url)
    log_in(page, hub, s1.login, s1.password)
    assert page.url.startswith(f"{hub.url}/user/{s1.login}/lab"), page.url
    tools = menu_items(page, "Nbgrader")
    assert "Assignment List" in tools, tools
    assert not {"Formgrader", "Create assignment", "Courses"} & set(tools), tools
    menu(page, "Nbgrader", "Assignment List")
    page.locator("#released_assignments_list .list_item", has_text=ASSIGNMENT).get_by_role(
        "button", name="Fetch").click()
    page.locator("#fetched_assignments_list .assignment-notebooks-link",
                 has_text=ASSIGNMENT).click()
    screenshot(page, "hub-1-student-assignments")
    page.locator(f"#nbgrader-{COURSE}-{ASSIGNMENT} .nested_list_item a",
                 has_text=ASSIGNMENT).click()
    cells = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell")
    cells.nth(len(release.cells) - 1).wait_for(state="attached")
    for grade_id, text in correct.items():
        paste_into_cell(page, cells.nth(position[grade_id]), text)
    dialog = validate(page)
    screenshot(page, "hub-2-student-validate")
    assert_visible_checks_pass(dialog)
    close_dialog(dialog)
    page.locator(".lm-TabBar-tabLabel", has_text="Assignments").click()
    page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.get_by_role(
        "button", name="Submit").click()
    page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
    screenshot(page, "hub-3-student-submitted")
    inbound = k.exchange / COURSE / "inbound"
    (s1_folder,) = [p for p in inbound.iterdir() if p.name.startswith(f"{s1.login}+")]

    # 3. Student 2, through the REST API: a wrong answer, validated and submitted.
    student2 = hub.session(s2)
    hub.start_server(student2, s2.login)
    server = f"{hub.url}/user/{s2.login}"
    fetched = student2.post(f"{server}/assignments/fetch", timeout=120,
                            data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
    assert fetched.ok and fetched.json()["success"], fetched.text
    path = f"{COURSE}/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    notebook = nbformat.from_dict(student2.get(f"{server}/api/contents/{path}",
                                               timeout=60).json()["content"])
    for grade_id, text in {**correct,
                           "answer_steps_to_tolerance": WRONG_STEPS_TO_TOLERANCE}.items():
        notebook.cells[position[grade_id]].source = text
    saved = student2.put(f"{server}/api/contents/{path}", timeout=60,
                         json={"type": "notebook", "format": "json", "content": notebook})
    assert saved.ok, saved.text
    checked = student2.post(f"{server}/assignments/validate", data={"path": path},
                            timeout=300).json()
    failed = json.dumps(checked["value"].get("failed", []))
    assert "Check failed: steps_to_tolerance(" in failed, checked
    submitted = student2.post(f"{server}/assignments/submit", timeout=120,
                              data={"course_id": COURSE, "assignment_id": ASSIGNMENT})
    assert submitted.ok and submitted.json()["success"], submitted.text

    # 4. Student 3 tries to read student 1's submission: the hub refuses s1's server, and the
    # exchange refuses s3's OS account even with the folder's name.
    student3 = hub.session(s3)
    snooped = student3.get(f"{hub.url}/user/{s1.login}/api/contents/{path}", timeout=60)
    assert snooped.status_code == 403, (snooped.status_code, snooped.text[:200])
    tried = k.python_as(s3, f"""
import os
for attempt in (lambda: os.listdir({str(inbound)!r}),
                lambda: open({str(s1_folder / f"{ASSIGNMENT}.ipynb")!r}).read()):
    try:
        attempt()
        print("READ")
    except PermissionError:
        print("denied")
""")
    assert tried.split() == ["denied", "denied"], tried

    # 5. The instructor collects, grades, scores the written answer and releases feedback.
    formgrader_api(hub, teacher, "collect")
    graded = k.run_as(k.grader, [str(DLMATH), "grade", ASSIGNMENT], cwd=k.course)
    assert s1.login in graded.stdout and s2.login in graded.stdout, graded.stdout
    database = f"sqlite:///{k.course / 'gradebook.db'}"
    with Gradebook(database) as gradebook:
        scores = {s.login: gradebook.find_submission(ASSIGNMENT, s.login).score
                  for s in (s1, s2)}
        s1_notebook = gradebook.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, s1.login).id
    assert scores[s1.login] - scores[s2.login] == 2, scores  # steps_to_tolerance: 2 points

    log_in(page, hub, k.instructor.login, k.instructor.password, f"/services/{COURSE}/lab")
    menu(page, "Nbgrader", "Formgrader")
    formgrader = page.frame_locator("iframe").first
    formgrader.locator("table tbody tr", has_text=ASSIGNMENT).first.wait_for()
    screenshot(page, "hub-4-formgrader-in-lab")
    policy = page.request.get(f"{hub.url}/services/{COURSE}/formgrader/").headers[
        "content-security-policy"]
    assert "frame-ancestors 'self'" in policy and "script-src" in policy, policy
    frame = next(f for f in page.frames if "/formgrader" in f.url)
    frame.goto(f"{hub.url}/services/{COURSE}/formgrader/submissions/{s1_notebook}")
    written = next(cell.metadata.nbgrader.grade_id for cell in release.cells
                   if cell.cell_type == "markdown"
                   and cell.metadata.get("nbgrader", {}).get("solution"))
    score = formgrader.locator(f"input.score#{written}")
    score.scroll_into_view_if_needed()
    score.fill(str(WRITTEN_SCORE))
    score.press("Tab")
    deadline = time.monotonic() + 60
    while True:
        with Gradebook(database) as gradebook:
            stored = gradebook.find_grade(written, ASSIGNMENT, ASSIGNMENT, s1.login).manual_score
        if stored == WRITTEN_SCORE or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    screenshot(page, "hub-5-formgrader-written-answer")
    assert stored == WRITTEN_SCORE, stored
    formgrader_api(hub, teacher, "generate_feedback")
    formgrader_api(hub, teacher, "release_feedback")

    # 6. Student 1 fetches the feedback: the scores, and none of the hidden tests.
    log_in(page, hub, s1.login, s1.password)
    menu(page, "Nbgrader", "Assignment List")
    page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.get_by_role(
        "button", name="Fetch Feedback").click()
    feedback_root = s1.home / COURSE / ASSIGNMENT / "feedback"
    deadline = time.monotonic() + 60
    while not list(feedback_root.rglob("*.html")) and time.monotonic() < deadline:
        time.sleep(0.5)
    (feedback,) = feedback_root.rglob("*.html")
    page.goto(f"{hub.url}/user/{s1.login}/files/{feedback.relative_to(s1.home)}")
    text = page.locator("body").inner_text()
    screenshot(page, "hub-6-student-feedback")
    shown = re.search(r"Score:\s*([\d.]+)\s*/\s*([\d.]+)", text)
    assert shown, text[:500]
    assert (float(shown[1]), float(shown[2])) == (scores[s1.login] + WRITTEN_SCORE, 12), shown[0]
    leaked = [line for line in hidden_test_lines(ASSIGNMENT) if line in text]
    assert not leaked, f"hidden tests in the feedback: {leaked}"
    print(f"class on the hub, end to end: {time.monotonic() - started:.0f} s")

