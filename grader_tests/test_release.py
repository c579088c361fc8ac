"""The release is exactly what source/ generates, leaks nothing, and is safe to hand out."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from dlmath.variants import identity
from dlmath.variants.derive import student_key
from grader_tests.students import ASSIGNMENTS, HARNESS_SECRET, REPO

REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)\n(.*?)### END \1", re.DOTALL)


@pytest.fixture(autouse=True)
def a_students_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernels these tests start are a student's, as in dlmath lab or on the hub: they
    know whose numbers to compute with (dlmath/variants)."""
    monkeypatch.setenv(identity.ENVIRONMENT,
                       student_key(bytes.fromhex(HARNESS_SECRET), "s2600001"))



def notebook(root: Path, folder: str, assignment: str) -> nbformat.NotebookNode:
    return nbformat.read(root / folder / assignment / f"{assignment}.ipynb", as_version=4)


def secret_lines(source_nb: nbformat.NotebookNode) -> set[str]:
    """Substantial lines that appear only inside solution and hidden-test regions."""
    secret, public = set(), set()
    for cell in source_nb.cells:
        for _, body in REGION.findall(cell.source):
            secret.update(line.strip() for line in body.splitlines()
                          if len(line.strip()) >= 25 and not line.strip().startswith("#"))
        public.update(line.strip() for line in REGION.sub("", cell.source).splitlines())
    return secret - public


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_what_source_generates(assignment: str,
                                                    released_course: Path) -> None:
    committed = REPO / "release" / assignment / f"{assignment}.ipynb"
    generated = released_course / "release" / assignment / f"{assignment}.ipynb"
    assert committed.is_file(), f"{committed} is missing: run `dlmath release` and commit it"
    assert committed.read_bytes() == generated.read_bytes(), (
        f"release/{assignment} is stale: run `dlmath release {assignment}` and commit release/")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_leaks_no_solution_or_hidden_test(assignment: str) -> None:
    released = notebook(REPO, "release", assignment)
    text = "\n".join(cell.source for cell in released.cells)
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    released_lines = {line.strip() for line in text.splitlines()}
    leaked = sorted(secret_lines(notebook(REPO, "source", assignment)) & released_lines)
    assert not leaked, f"instructor-only lines in release/{assignment}: {leaked[:3]}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_tests_and_given_code_are_locked_and_checksummed(assignment: str) -> None:
    for cell in notebook(REPO, "release", assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if not meta or meta.get("solution"):
            continue
        where = f"{assignment}: cell {meta.get('grade_id')}"
        assert meta.get("locked") is True, f"{where} is not locked"
        assert meta.get("checksum"), f"{where} has no checksum"
        assert cell.metadata.get("editable") is False, f"{where} is editable in Jupyter"
        assert cell.metadata.get("deletable") is False, f"{where} is deletable in Jupyter"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_answer_cell_raises_not_implemented(assignment: str) -> None:
    answers = [c for c in notebook(REPO, "release", assignment).cells
               if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
    assert answers
    for cell in answers:
        assert "raise NotImplementedError()" in cell.source, cell.metadata["nbgrader"]["grade_id"]


def run(nb: nbformat.NotebookNode, folder: Path) -> list[tuple[int, str]]:
    """Execute ``nb`` in ``folder``; return (cell index, error name) per failing cell."""
    NotebookClient(nb, timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}).execute()
    return [(i, out.ename) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
            for out in cell.get("outputs", []) if out.output_type == "error"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_notebook_runs_top_to_bottom(assignment: str, tmp_path: Path) -> None:
    assert run(notebook(REPO, "source", assignment), tmp_path) == []


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_runs_until_the_first_unanswered_task(assignment: str, tmp_path: Path) -> None:
    released = notebook(REPO, "release", assignment)
    first_answer = next(i for i, c in enumerate(released.cells)
                        if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution"))
    errors = run(released, tmp_path)
    assert errors, "the blank release ran without any error: are the answer cells stubbed?"
    first_error_cell, error_name = errors[0]
    assert error_name == "NotImplementedError", errors[:3]
    assert first_error_cell > first_answer, f"cell {first_error_cell} fails before any task"


# Helpers that return a value: a test cell ending in a bare call to one would display it.
VALUE_RETURNING_HELPERS = {"check_axes", "check_inputs_unchanged", "check_drawn_on", "as_float",
                           "as_number_array", "as_plain", "result_of"}


def displays_a_value(statement: ast.stmt) -> bool:
    """Whether IPython would show ``statement``'s value if it ended a cell."""
    if not isinstance(statement, ast.Expr):
        return False
    call = statement.value
    if not isinstance(call, ast.Call):
        return True
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    return name in VALUE_RETURNING_HELPERS or not (name.startswith("check_") or name == "close")


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_test_cells_never_display_a_value(assignment: str) -> None:
    # nbgrader reads a number shown by a test cell as its partial credit, and fails the whole
    # submission when it exceeds the cell's points; any other shown value is noise.
    for cell in notebook(REPO, "source", assignment).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            last = ast.parse(cell.source).body[-1]
            assert not displays_a_value(last), (
                f"{assignment}: {meta['grade_id']} ends with an expression whose value "
                f"would be displayed (line {last.lineno}); assign it to _ instead")


def calls_outside_checks(source: str, student_names: set[str]) -> list[str]:
    """Calls of the student's functions in a test cell that no check helper names: neither an
    argument of a call with a ``what`` parameter nor inside a lambda or function (which run
    from such a call, as a lazy hint or a test's own helper)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and (
                node.func.id.startswith(("check_", "as_")) or node.func.id == "result_of"):
            named |= {id(n) for argument in node.args + [k.value for k in node.keywords]
                      for n in ast.walk(argument)}
    outside = []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in student_names and id(node) not in named):
            ancestor = parents.get(node)
            while ancestor is not None and not isinstance(
                    ancestor, ast.Lambda | ast.FunctionDef):
                ancestor = parents.get(ancestor)
            if ancestor is None:
                outside.append(f"line {node.lineno}: {ast.unparse(node)}")
    return outside


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_call_of_student_code_in_a_test_is_named_by_a_check(assignment: str) -> None:
    # When the student's function raises, the grader reports the check whose argument the call
    # is (dlmath.judge.failures): what was checked, on which input, what was expected, the hint.
    source_nb = notebook(REPO, "source", assignment)
    student_names = {node.name for cell in source_nb.cells if cell.cell_type == "code"
                     and cell.metadata.get("nbgrader", {}).get("solution")
                     for node in ast.parse(cell.source).body if isinstance(node, ast.FunctionDef)}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            outside = calls_outside_checks(cell.source, student_names)
            assert not outside, f"{assignment}: {meta['grade_id']} calls {outside}: wrap them " \
                                "in a check, or in result_of(what, func, *args, hint=...)"
