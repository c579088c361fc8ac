"""Simulated student work: the release notebook with its answer cells filled in.

A *variant* is a short Python file in ``grader_tests/variants/<assignment>/``. It holds
the definitions a student would write differently from the reference solution (one
changed function, or a whole answer) and a docstring that says what it is and which
test cells it must lose::

    \"\"\"Forgets to include the starting point as row 0.

    kind: mistake
    loses: test_gradient_descent_values, test_paths
    \"\"\"
    def gradient_descent(grad, x0, lr, n_steps): ...

Every answer cell is filled from the instructor's solution, then each top-level
definition the variant provides replaces the one with the same name (private ``_helpers``
are added before the first replacement). Two variants
exist for every assignment without a file: ``reference`` and ``blank``.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from dlmath.cells import grade_id, is_answer_cell
from dlmath.course import assignment_ids, load_config
from dlmath.variants.secret import secret_path

REPO = Path(__file__).resolve().parents[1]
VARIANTS_ROOT = REPO / "grader_tests" / "variants"
ASSIGNMENTS = assignment_ids(REPO)
KINDS = ("reference", "blank", "mistake", "alternative")
# The course secret of the harness's courses: every run gives each student the same numbers,
# so an expectation that depends on them (a copy between two students) is not left to chance.
HARNESS_SECRET = "5eed" * 16
_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*$")


class VariantError(Exception):
    """A variant file that cannot be applied; the message names the file and the fix."""


@dataclass(frozen=True)
class Variant:
    """One simulated submission of one assignment, with the scores it must get."""

    assignment: str
    name: str
    kind: str
    description: str
    lost_cells: frozenset[str] = frozenset()
    code: str = ""
    path: Path | None = field(default=None, compare=False)


def _parse_variant(assignment: str, path: Path) -> Variant:
    source = path.read_text(encoding="utf-8")
    try:
        module = ast.parse(source, filename=str(path))
    except SyntaxError as error:
        raise VariantError(f"{path}: not valid Python ({error})") from error
    doc = ast.get_docstring(module) or ""
    fields = dict(re.findall(r"^(kind|loses):\s*(.*)$", doc, flags=re.MULTILINE))
    kind = fields.get("kind", "").strip()
    if kind not in ("mistake", "alternative"):
        raise VariantError(f"{path}: the docstring needs a line 'kind: mistake' or "
                           "'kind: alternative'")
    lost = frozenset(c.strip() for c in fields.get("loses", "").split(",") if c.strip())
    if kind == "mistake" and not lost:
        raise VariantError(f"{path}: a mistake must name the test cells it loses "
                           "('loses: test_a, test_b')")
    if kind == "alternative" and lost:
        raise VariantError(f"{path}: an alternative must not lose points; remove 'loses:'")
    return Variant(assignment=assignment, name=path.stem, kind=kind,
                   description=doc.splitlines()[0] if doc else path.stem,
                   lost_cells=lost, code=source, path=path)


def load_variants(variants_root: Path, assignment: str) -> list[Variant]:
    """The reference, the blank, and every variant file of ``assignment``, in that order."""
    variants = [
        Variant(assignment, "reference", "reference", "the instructor's solution"),
        Variant(assignment, "blank", "blank", "the release notebook, unanswered",
                lost_cells=frozenset({"*"})),
    ]
    folder = variants_root / assignment
    if folder.is_dir():
        variants += [_parse_variant(assignment, p) for p in sorted(folder.glob("*.py"))]
    return variants


def reference_code(cell: NotebookNode) -> str:
    """The source cell's code with the solution markers removed (what a good student writes)."""
    return "\n".join(line for line in cell.source.splitlines() if not _MARKER.match(line))


def top_level_definitions(code: str) -> tuple[list[str], dict[str, str]]:
    """Split code into its imports and its named top-level definitions.

    Statements that define nothing (a loop filling a dict, say) belong to the definition
    before them, so ``paths = {}`` followed by a loop replaces the reference's ``paths``.
    Private helpers (names starting with ``_``) are new code, not replacements: they go with
    the imports, ahead of the first replaced definition.
    """
    module = ast.parse(code)
    imports: list[str] = []
    definitions: dict[str, str] = {}
    current: str | None = None
    for node in module.body:
        text = ast.get_source_segment(code, node, padded=True)
        if isinstance(node, ast.Expr) and node is module.body[0]:
            continue  # the variant's docstring
        if isinstance(node, ast.Import | ast.ImportFrom):
            imports.append(text)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name.startswith("_"):
            imports.append(text)
            current = None
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            current = node.name
            definitions[current] = text
        elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
            current = node.targets[0].id
            definitions[current] = text
        elif current is not None:
            definitions[current] += "\n" + text
        else:
            raise VariantError(f"a statement before any definition cannot be placed:\n{text}")
    return imports, definitions


def replace_definitions(code: str, overrides: dict[str, str]) -> tuple[str, set[str]]:
    """Replace top-level definitions in ``code`` by ``overrides``; return the names used."""
    module = ast.parse(code)
    lines = code.splitlines()
    used: set[str] = set()
    for node in reversed(module.body):
        names = []
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names = [node.name]
        elif isinstance(node, ast.Assign):
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        hits = [n for n in names if n in overrides]
        if hits:
            start = (node.decorator_list[0].lineno if getattr(node, "decorator_list", None)
                     else node.lineno) - 1
            lines[start:node.end_lineno] = overrides[hits[0]].splitlines()
            used.update(hits)
    return "\n".join(lines), used


def build_submission(source_nb: NotebookNode, release_nb: NotebookNode,
                     variant: Variant) -> NotebookNode:
    """The notebook a student following ``variant`` would hand in."""
    submission = copy.deepcopy(release_nb)
    if variant.kind == "blank":
        return submission
    reference = {grade_id(c): reference_code(c)
                 for c in source_nb.cells if is_answer_cell(c)}
    imports, overrides = top_level_definitions(variant.code) if variant.code else ([], {})
    unused = set(overrides)
    pending_imports = imports
    for cell in submission.cells:
        if not is_answer_cell(cell):
            continue
        code, used = replace_definitions(reference[grade_id(cell)],
                                          overrides)
        if used and pending_imports:
            code = "\n".join(pending_imports) + "\n\n" + code
            pending_imports = []
        unused -= used
        cell.source = code
    if unused:
        raise VariantError(f"{variant.path}: defines {sorted(unused)}, which no answer cell of "
                           f"{variant.assignment} defines; fix the name or remove it")
    return submission


def write_submission(course_root: Path, student: str, variant: Variant) -> Path:
    """Write ``variant`` as ``student``'s submission in ``course_root/submitted``."""
    assignment = variant.assignment
    source_nb = nbformat.read(course_root / "source" / assignment / f"{assignment}.ipynb",
                              as_version=4)
    release_nb = nbformat.read(course_root / "release" / assignment / f"{assignment}.ipynb",
                               as_version=4)
    target = course_root / "submitted" / student / assignment / f"{assignment}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build_submission(source_nb, release_nb, variant), target)
    return target


def use_harness_secret(course_root: Path) -> None:
    """Give the course ``HARNESS_SECRET`` (before its first release, which would make one)."""
    path = secret_path(course_root, load_config(course_root))
    path.write_text(HARNESS_SECRET + "\n", encoding="ascii")
    path.chmod(0o600)


def all_variants() -> list[Variant]:
    """Every variant of every assignment (reference and blank included)."""
    return [v for a in ASSIGNMENTS for v in load_variants(VARIANTS_ROOT, a)]
