"""Variant files turn into the submissions a student would hand in."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader_tests.students import VariantError, build_submission, load_variants


def answer(grade_id: str, source: str):  # noqa: ANN201
    cell = new_code_cell(source)
    cell.metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": grade_id}
    return cell


SOURCE = new_notebook(cells=[
    answer("a1", "def f(x):\n    ### BEGIN SOLUTION\n    return x + 1\n    ### END SOLUTION"),
    answer("a2", "### BEGIN SOLUTION\ntable = {k: f(k) for k in range(3)}\n### END SOLUTION"),
])
RELEASE = new_notebook(cells=[
    answer("a1", "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()"),
    answer("a2", "# YOUR CODE HERE\nraise NotImplementedError()"),
])


def write_variant(folder: Path, name: str, text: str) -> None:
    (folder / "demo").mkdir(exist_ok=True)
    (folder / "demo" / f"{name}.py").write_text(text)


def variant(tmp_path: Path, text: str):  # noqa: ANN201
    write_variant(tmp_path, "v", text)
    return load_variants(tmp_path, "demo")[-1]


def test_reference_fills_every_answer_without_markers(tmp_path: Path) -> None:
    reference = load_variants(tmp_path, "demo")[0]
    cells = build_submission(SOURCE, RELEASE, reference).cells
    assert cells[0].source == "def f(x):\n    return x + 1"
    assert "BEGIN" not in cells[1].source


def test_blank_is_the_release_unchanged(tmp_path: Path) -> None:
    blank = load_variants(tmp_path, "demo")[1]
    assert build_submission(SOURCE, RELEASE, blank) == RELEASE


def test_a_mistake_replaces_only_its_definition(tmp_path: Path) -> None:
    mistake = variant(tmp_path, '"""Off by one.\n\nkind: mistake\nloses: t1\n"""\n'
                                "import math\n\ndef f(x):\n    return x + 2\n")
    assert mistake.lost_cells == {"t1"} and mistake.description == "Off by one."
    cells = build_submission(SOURCE, RELEASE, mistake).cells
    assert cells[0].source == "import math\n\ndef f(x):\n    return x + 2"
    assert cells[1].source.strip() == "table = {k: f(k) for k in range(3)}"


def test_private_helpers_are_added_before_the_first_replacement(tmp_path: Path) -> None:
    helper = variant(tmp_path, '"""Helper.\n\nkind: alternative\n"""\n'
                               "def _one():\n    return 1\n\ndef f(x):\n    return x + _one()\n")
    cells = build_submission(SOURCE, RELEASE, helper).cells
    assert cells[0].source == "def _one():\n    return 1\n\ndef f(x):\n    return x + _one()"


def test_statements_after_an_assignment_stay_with_it(tmp_path: Path) -> None:
    alternative = variant(tmp_path, '"""Loop.\n\nkind: alternative\n"""\n'
                                    "table = {}\nfor k in range(3):\n    table[k] = f(k)\n")
    cells = build_submission(SOURCE, RELEASE, alternative).cells
    assert cells[1].source == "table = {}\nfor k in range(3):\n    table[k] = f(k)"


@pytest.mark.parametrize("text, message", [
    ('"""No kind."""\ndef f(x):\n    return x\n', "kind: mistake"),
    ('"""M.\n\nkind: mistake\n"""\ndef f(x):\n    return x\n', "must name the test cells"),
    ('"""A.\n\nkind: alternative\nloses: t1\n"""\ndef f(x):\n    return x\n', "must not lose"),
    ("def f(:\n", "not valid Python"),
])
def test_bad_variant_files_are_explained(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(VariantError, match=message):
        variant(tmp_path, text)


def test_a_definition_no_answer_cell_has_is_an_error(tmp_path: Path) -> None:
    typo = variant(tmp_path, '"""Typo.\n\nkind: mistake\nloses: t1\n"""\ndef g(x):\n    return x\n')
    with pytest.raises(VariantError, match=r"defines \['g'\]"):
        build_submission(SOURCE, RELEASE, typo)
