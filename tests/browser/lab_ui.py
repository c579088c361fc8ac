"""What a person does in JupyterLab 4 and nbgrader's extensions, as Playwright steps.

Selectors are JupyterLab's and nbgrader's own class names and visible labels (menu items,
button text), so a step fails when what a person would see or click is missing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from dlmath.student.lab import VISIBLE_CHECKS_PASSED
from grader_tests.students import Variant, build_submission

if TYPE_CHECKING:  # conftest's browser fixture imports Playwright, failing with the fix if absent
    from playwright.sync_api import Locator, Page

WRITTEN_ANSWER = (
    "Each step multiplies the error along an eigen-direction by 1 - lr * lambda: along x "
    "(lambda = 2) 0.98, 0.9 and 0.8; along y (lambda = 20) 0.8, 0 and -1. With lr = 0.1 the "
    "factor along y is -1, so y flips between 1.5 and -1.5 forever. lr = 0.05 is fastest: "
    "its slowest direction shrinks by 0.9 per step."
)
# A classic mistake in ex1: counting steps from 1 instead of 0.
WRONG_STEPS_TO_TOLERANCE = '''def steps_to_tolerance(path, tol=1e-6):
    """The first index k with ||path[k]|| < tol, or None."""
    for k, row in enumerate(path):
        if np.linalg.norm(row) < tol:
            return k + 1
    return None'''
# The notebook in the current tab (other tabs' panels stay in the page, hidden).
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"
# Executing or validating ex1 takes seconds; the margin is for a busy two-core CI machine.
RUN_SECONDS = 180


def open_lab(page: Page, url: str) -> None:
    """Open JupyterLab and wait until nbgrader's menu is there (its lab extension loaded)."""
    page.goto(url)
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").wait_for()


def menu(page: Page, top: str, item: str) -> None:
    """Click ``top`` in the menu bar, then the menu item labelled exactly ``item``."""
    page.locator(".lm-MenuBar-itemLabel").get_by_text(top, exact=True).click()
    page.locator(".lm-Menu-itemLabel").get_by_text(item, exact=True).click()


def menu_items(page: Page, top: str) -> list[str]:
    """The item labels of menu ``top`` (opened, read, closed again)."""
    page.locator(".lm-MenuBar-itemLabel").get_by_text(top, exact=True).click()
    labels = page.locator(".lm-Menu-itemLabel")
    labels.first.wait_for()
    items = [label for label in labels.all_inner_texts() if label]
    page.keyboard.press("Escape")
    # Closed before anything else is clicked (a click on the bar would toggle it shut again).
    page.locator(".lm-Menu").wait_for(state="detached")
    return items


def cells(page: Page) -> Locator:
    """The cells of the notebook in the current tab, in order."""
    return page.locator(f"{NOTEBOOK} .jp-Cell")


def paste_into_cell(page: Page, cell: Locator, text: str) -> None:
    """Replace a cell's contents by pasting ``text`` from the clipboard (Ctrl+A, Ctrl+V).

    A rendered Markdown cell is opened for editing first (double click) and rendered again
    afterwards (Ctrl+Enter), as a student does.
    """
    cell.scroll_into_view_if_needed()
    is_markdown = "jp-MarkdownCell" in (cell.get_attribute("class") or "")
    if is_markdown:
        cell.dblclick()
    editor = cell.locator(".cm-content")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.evaluate("text => navigator.clipboard.writeText(text)", text)
    page.keyboard.press("ControlOrMeta+v")
    # The editor must now hold exactly the pasted text (no auto-indent, nothing left over).
    # The editor updates asynchronously, so allow it a moment.
    deadline = time.monotonic() + 10
    while (pasted := editor.inner_text()) != text and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert pasted == text, f"the cell holds {pasted!r} after pasting {text!r}"
    if is_markdown:
        page.keyboard.press("ControlOrMeta+Enter")


_PROMPTS = f"""() => [...document.querySelectorAll('{NOTEBOOK} .jp-Cell')].map(cell => {{
    const prompt = cell.querySelector('.jp-InputArea-prompt');
    return prompt ? prompt.textContent.trim() : '';
}})"""


def prompts(page: Page) -> list[str]:
    """Each cell's input prompt text: '[3]:' ran, '[*]:' running or queued, '[ ]:' not run."""
    return page.evaluate(_PROMPTS)


def run_all(page: Page) -> None:
    """Run > Run All Cells, and wait until every queued cell has finished.

    JupyterLab marks every queued cell [*] when Run All starts. A MutationObserver set up
    before the click records that moment (however fast the cells then run); the run is over
    once it has been seen and no cell is marked [*] any more. (After an error the rest of the
    queue is cancelled and those cells keep their old prompt.)
    """
    page.evaluate(f"""() => {{
        window.dlmathRunStarted = false;
        const notebook = document.querySelector('{NOTEBOOK} .jp-Notebook');
        const busy = () => ({_PROMPTS})().some(p => p.includes('*'));
        const observer = new MutationObserver(() => {{
            if (busy()) {{ window.dlmathRunStarted = true; observer.disconnect(); }}
        }});
        observer.observe(notebook, {{subtree: true, childList: true, characterData: true}});
    }}""")
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        f"""() => window.dlmathRunStarted
                  && !({_PROMPTS})().some(p => p.includes('*'))""",
        timeout=RUN_SECONDS * 1000)


def validate(page: Page) -> Locator:
    """Press the notebook toolbar's Validate button; return the results dialog once shown."""
    page.locator(f"{NOTEBOOK} .validate-button").click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=RUN_SECONDS * 1000)
    return dialog


def assert_visible_checks_pass(dialog: Locator) -> None:
    """Validate's verdict when every visible check passes: the course's sentence
    (``VISIBLE_CHECKS_PASSED``, shown by the custom CSS ``dlmath lab`` and ``dlmath hub``
    install), not nbgrader's "Success! Your notebook passes all the tests.", which reads as
    full marks though hidden checks run at grading time."""
    assert "Validation Results" in dialog.inner_text()
    message = dialog.locator("#validation-message.validation-success")
    shown = message.evaluate("node => getComputedStyle(node, '::after').content")
    assert shown == f'"{VISIBLE_CHECKS_PASSED}"', shown
    assert message.get_by_text("Success! Your notebook passes all the tests.").is_hidden()


def close_dialog(dialog: Locator) -> None:
    """Press the dialog's Ok button and wait until it is gone."""
    dialog.get_by_role("button", name="Ok").click()
    dialog.wait_for(state="detached")


def answers(course: Path, assignment: str) -> tuple[nbformat.NotebookNode, dict[str, str]]:
    """The release notebook and a correct answer for each answer cell, by grade id.

    Code answers are the instructor's solutions (markers removed, as the grader's self-test
    builds its reference submission); the written answer is a student's paragraph.
    """
    source = nbformat.read(course / "source" / assignment / f"{assignment}.ipynb", as_version=4)
    release = nbformat.read(course / "release" / assignment / f"{assignment}.ipynb",
                            as_version=4)
    reference = build_submission(source, release,
                                 Variant(assignment, "reference", "reference", ""))
    correct = {}
    for cell in reference.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            correct[meta["grade_id"]] = (cell.source if cell.cell_type == "code"
                                         else WRITTEN_ANSWER)
    return release, correct


def grade_ids(notebook: nbformat.NotebookNode) -> list[str | None]:
    """Each cell's nbgrader grade id (None for cells nbgrader does not track), in order."""
    return [c.metadata.get("nbgrader", {}).get("grade_id") for c in notebook.cells]
