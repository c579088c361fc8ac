"""A student in JupyterLab, end to end in a real browser.

``dlmath lab`` starts JupyterLab on a temporary student working copy. In headless Chromium
the student opens Nbgrader > Assignment List, sees every released assignment, fetches ex1,
opens its notebook, pastes a correct answer into each answer cell, runs all cells and presses
Validate (verdict: the visible checks pass, hidden ones run at grading time); then pastes a
wrong answer (counting steps from 1), runs all cells again, reads the failed check under the
test cell and in Validate's dialog, and finally submits. Screenshots of each stage go to
test-artifacts/browser/.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from lab_fixtures import (  # noqa: F401 - fixtures, used by name
    browser_context_fixture,
    page_fixture,
    screenshot_fixture,
    start_lab_fixture,
)
from lab_ui import (
    WRONG_STEPS_TO_TOLERANCE,
    answers,
    assert_visible_checks_pass,
    cells,
    close_dialog,
    grade_ids,
    menu,
    menu_items,
    open_lab,
    paste_into_cell,
    prompts,
    run_all,
    validate,
)

from dlmath.student.lab import released_assignments

if TYPE_CHECKING:  # conftest's browser fixture imports Playwright, failing with the fix if absent
    from playwright.sync_api import Locator

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ASSIGNMENT = "ex1_ill_conditioned_gd"
def error_text(cell: Locator) -> str:
    """The text of a cell's error outputs ('' if it has none)."""
    errors = cell.locator(".jp-OutputArea-output[data-mime-type="
                          "'application/vnd.jupyter.stderr']")
    return "\n".join(errors.all_text_contents())


def test_student_validates_a_correct_and_a_wrong_answer(tmp_path: Path, start_lab, page,
                                                        screenshot) -> None:
    release, correct = answers(REPO, ASSIGNMENT)
    ids = grade_ids(release)
    position = {grade_id: index for index, grade_id in enumerate(ids) if grade_id}
    test_cells = [c.metadata["nbgrader"]["grade_id"] for c in release.cells
                  if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]

    # `dlmath lab`, the documented student command, on a fresh working copy.
    student = tmp_path / "student"
    dlmath = Path(sys.executable).parent / "dlmath"
    assert dlmath.is_file(), "the dlmath command is missing: run bin/setup --test"
    server = start_lab(lambda port: [str(dlmath), "lab", "--dir", str(student),
                                     "--port", str(port), "--no-browser", "--allow-root"],
                       cwd=tmp_path)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)

    # The student's Nbgrader menu has the student's tools only, and the server agrees.
    open_lab(page, server.lab_url())
    tools = menu_items(page, "Nbgrader")
    assert "Assignment List" in tools, tools
    assert not {"Formgrader", "Create assignment"} & set(tools), tools
    assert page.request.get(server.lab_url("formgrader")).status == 404
    assert page.request.get(server.lab_url("nbgrader_version") + "&version=x").ok

    # The Assignments tab lists every released assignment; Fetch copies ex1 in.
    menu(page, "Nbgrader", "Assignment List")
    released = page.locator("#released_assignments_list .list_item")
    for assignment in released_assignments(REPO):
        released.filter(has_text=assignment).wait_for()
    released.filter(has_text=ASSIGNMENT).get_by_role("button", name="Fetch").click()
    fetched = page.locator("#fetched_assignments_list .assignment-notebooks-link",
                           has_text=ASSIGNMENT)
    fetched.click()
    screenshot(page, "student-1-assignments-fetched")
    assert (student / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()

    # Open the notebook from the list and answer every task.
    page.locator(f"#nbgrader-dlmath-{ASSIGNMENT} .nested_list_item a",
                 has_text=ASSIGNMENT).click()
    cells(page).nth(len(ids) - 1).wait_for(state="attached")
    assert cells(page).count() == len(ids)
    for grade_id, text in correct.items():
        paste_into_cell(page, cells(page).nth(position[grade_id]), text)

    # Run all: every code cell runs, and no test cell fails.
    run_all(page)
    ran = prompts(page)
    not_run = [i for i, cell in enumerate(release.cells)
               if cell.cell_type == "code" and not re.fullmatch(r"\[\d+\]:", ran[i])]
    assert not not_run, f"code cells {not_run} did not run: {[ran[i] for i in not_run]}"
    failing = {g: error_text(cells(page).nth(position[g])) for g in test_cells}
    assert not any(failing.values()), f"test cells failed with correct answers: {failing}"
    # ex1's last code cell plots the paths: the figure must show in the notebook.
    last_code = max(i for i, cell in enumerate(release.cells) if cell.cell_type == "code")
    figure = cells(page).nth(last_code).locator(".jp-RenderedImage img")
    assert figure.count() >= 1, "the plot of the last code cell is not shown in the notebook"
    figure.first.scroll_into_view_if_needed()
    screenshot(page, "student-2-correct-run-all")

    # Validate's verdict: the visible checks pass, and hidden ones run at grading time
    # (nbgrader's "Success! Your notebook passes all the tests." is hidden by dlmath lab's CSS).
    dialog = validate(page)
    screenshot(page, "student-3-correct-validate")
    assert_visible_checks_pass(dialog)
    close_dialog(dialog)

    # A wrong answer: the test cell under it fails in plain words.
    target = cells(page).nth(position["answer_steps_to_tolerance"])
    paste_into_cell(page, target, WRONG_STEPS_TO_TOLERANCE)
    run_all(page)
    message = error_text(cells(page).nth(position["test_steps_to_tolerance"]))
    cells(page).nth(position["test_steps_to_tolerance"]).scroll_into_view_if_needed()
    screenshot(page, "student-4-wrong-run-all")
    assert "Check failed: steps_to_tolerance(" in message, message
    others = {g: error_text(cells(page).nth(position[g])) for g in test_cells
              if position[g] < position["test_steps_to_tolerance"]}
    assert not any(others.values()), f"earlier test cells failed too: {others}"

    # Validate names the one failing test cell and shows the check's message, not a traceback.
    dialog = validate(page)
    report = dialog.locator(".jp-Dialog-body")
    report.evaluate("body => body.scrollTop = body.scrollHeight")
    text = report.inner_text()
    screenshot(page, "student-5-wrong-validate")
    assert text.count("The following cell failed:") == 1, text
    # nbgrader shows the failing cell's source, its middle elided when long: its first line.
    source = next(c.source for c in release.cells
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "test_steps_to_tolerance")
    assert source.splitlines()[0] in text, "the failing test cell's source is missing"
    assert "Check failed: steps_to_tolerance(" in text, text
    expected = re.search(r"^\s*expected:\s+(\d+)\s*$", text, re.MULTILINE)
    got = re.search(r"^\s*got:\s+(\d+)\s*$", text, re.MULTILINE)
    assert expected and got, f"no 'expected:'/'got:' lines in the dialog:\n{text}"
    assert int(got[1]) == int(expected[1]) + 1, "the check did not see the off-by-one answer"
    assert re.search(r"^\s*hint:\s+\S", text, re.MULTILINE), text
    assert "Traceback" not in text and "checks.py" not in text, (
        f"Validate shows a traceback instead of the plain message:\n{text}")
    close_dialog(dialog)

    # Submit hands the notebook in to the exchange.
    page.locator(".lm-TabBar-tabLabel", has_text="Assignments").click()
    page.locator("#fetched_assignments_list .list_item", has_text=ASSIGNMENT).first.get_by_role(
        "button", name="Submit").click()
    page.locator("#submitted_assignments_list .list_item", has_text=ASSIGNMENT).first.wait_for()
    inbound = student / ".exchange" / "dlmath" / "inbound"
    submitted = list(inbound.glob(f"*+{ASSIGNMENT}+*/{ASSIGNMENT}.ipynb"))
    assert len(submitted) == 1, f"no submission in {inbound}"
    screenshot(page, "student-6-submitted")
