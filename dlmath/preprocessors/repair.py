"""``RepairCells`` (sanitize step): every nbgrader cell back as the instructor made it.

It puts back each cell's flags, points and type, restores deleted or unrecognisable cells
from the gradebook, and records what the student changed (``metadata.dlmath.findings``).
"""

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.exporters.exporter import ResourcesDict
from nbformat import NotebookNode
from nbgrader.api import MissingEntry
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import (
    ClearHiddenTests,
    NbGraderPreprocessor,
)
from nbgrader.preprocessors.overwritecells import OverwriteCells

from dlmath.cells import grade_id
from dlmath.course import check_student_id
from dlmath.gradebook import SharedEngineGradebook
from dlmath.judge import integrity
from dlmath.judge.integrity import Finding


@functools.cache
def _hidden_test_remover() -> ClearHiddenTests:
    return ClearHiddenTests()  # made once: a traitlets object is slow to configure


def released_source(source: str) -> str:
    """A locked cell's source as the student received it: without its hidden tests."""
    cell = nbformat.v4.new_code_cell(source)
    _hidden_test_remover()._remove_hidden_test_region(cell)
    return cell.source


class SubmissionProblem(Exception):
    """A submission that cannot be graded as it is; the message says why and what to do."""


@dataclass(frozen=True)
class SourceCell:
    """One nbgrader cell of the assignment, as the gradebook records it."""

    name: str
    cell_type: str
    locked: bool
    source: str
    checksum: str | None
    points: float | None  # None: not graded
    solution: bool
    task: bool

    @property
    def released(self) -> str:
        """The source the student received (a test cell without its hidden tests)."""
        return released_source(self.source) if self.cell_type == "code" else self.source

    def flags(self) -> dict[str, Any]:
        """The nbgrader flags this cell has in the release."""
        return {"grade": self.points is not None, "solution": self.solution,
                "locked": self.locked, "task": self.task}

    def new_cell(self) -> NotebookNode:
        """The cell as the release has it (an answer cell holds the release's stub)."""
        make = nbformat.v4.new_code_cell if self.cell_type == "code" else \
            nbformat.v4.new_markdown_cell
        cell = make(self.released)
        meta = {"cell_type": self.cell_type, "checksum": self.checksum, "grade_id": self.name,
                "schema_version": 3, **self.flags()}
        if self.points is not None:
            meta["points"] = self.points
        cell.metadata.update({"deletable": False, "nbgrader": meta})
        if self.locked:
            cell.metadata["editable"] = False
        return cell


def source_cells(db_url: str, assignment: str, notebook_name: str, order: list[str]
                 ) -> tuple[list[SourceCell], dict | None]:
    """The assignment notebook's nbgrader cells, and its kernelspec, from the gradebook; the
    cells in ``order`` (their grade ids in the instructor's notebook; any the gradebook has
    beyond those come last, by name).

    The gradebook records no order: the database returns its rows in whatever order it likes
    (PostgreSQL by an index, alphabetically, after ``dlmath copy-gradebook``). Raises
    SubmissionProblem when the gradebook does not know the notebook (the assignment was not
    released)."""
    with SharedEngineGradebook(db_url) as gradebook:
        try:
            notebook = gradebook.find_notebook(notebook_name, assignment)
        except MissingEntry as missing:
            raise SubmissionProblem(
                f"the gradebook has no notebook {notebook_name} in {assignment}: release the "
                f"assignment first (dlmath release {assignment})") from missing
        points = {c.name: float(c.max_score) for c in notebook.grade_cells}
        solutions = {c.name for c in notebook.solution_cells}
        tasks = {c.name for c in notebook.task_cells}
        cells = [SourceCell(c.name, c.cell_type, bool(c.locked), c.source, c.checksum,
                            points.get(c.name), c.name in solutions, c.name in tasks)
                 for c in notebook.source_cells]
        place = {name: index for index, name in enumerate(order)}
        cells.sort(key=lambda cell: (place.get(cell.name, len(place)), cell.name))
        return cells, json.loads(notebook.kernelspec) if notebook.kernelspec else None


def instructor_order(coursedir: CourseDirectory, assignment: str, notebook_name: str
                     ) -> list[str]:
    """The grade ids of the assignment notebook's nbgrader cells, in the order of the notebook
    the students were given: ``release/``'s (written with the gradebook's cells by the same
    ``generate_assignment``), or where that is gone ``source/``'s. Raises SubmissionProblem
    when neither is there."""
    for folder in (coursedir.release_directory, coursedir.source_directory):
        path = Path(coursedir.format_path(folder, ".", assignment)) / f"{notebook_name}.ipynb"
        if path.is_file():
            return [name for cell in nbformat.read(path, as_version=4).cells
                    if (name := grade_id(cell))]
    raise SubmissionProblem(
        f"cannot tell the order of {assignment}'s cells: neither release/{assignment}/"
        f"{notebook_name}.ipynb nor source/{assignment}/{notebook_name}.ipynb is in "
        f"{coursedir.root} (the gradebook does not keep it); grade where the course's "
        "release/ or source/ folder is")


def course_directory(preprocessor: NbGraderPreprocessor) -> CourseDirectory:
    """The course folder ``preprocessor`` works in: its converter's (nbgrader's autograde,
    which the formgrader roots at the course it shows without saying so in the config), else
    the one its configuration names (``dlmath grade`` runs the sanitize step on its own)."""
    owner = preprocessor.parent
    while owner is not None:
        if isinstance(getattr(owner, "coursedir", None), CourseDirectory):
            return owner.coursedir
        owner = owner.parent
    return CourseDirectory(config=preprocessor.config)


class RepairCells(NbGraderPreprocessor):
    """Put every nbgrader cell back as the instructor made it, and record what was changed.

    nbgrader's ``OverwriteCells`` restores the source of locked cells but trusts the
    submitted flags (a test cell whose ``grade`` flag a student cleared would stop being
    graded), and its ``add_missing_cells`` can put a deleted cell back only right after a
    graded cell (elsewhere it fails with a KeyError). This preprocessor, from the gradebook:

    * sets every cell's ``grade``, ``solution``, ``locked``, ``task``, ``points`` and type,
      and removes nbgrader metadata that names no cell of the assignment (or one twice);
    * recognises cells that lost their nbgrader metadata (a notebook saved by another tool):
      a locked cell by its content, an answer cell by its place between the cells around it;
    * puts back every cell that was deleted, after the cell that precedes it in the source:
      locked cells as the instructor wrote them, answer cells as released (empty, so a
      deleted written answer scores 0 with nbgrader's "No response.");
    * puts moved cells back in order, each with the cells the student added after it.

    Every change is recorded as a finding. A notebook with no cells at all, or none of the
    assignment's, raises SubmissionProblem. Runs after ``DeduplicateIds`` and before
    ``OverwriteKernelspec`` and ``OverwriteCells``.
    """

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict
                   ) -> tuple[NotebookNode, ResourcesDict]:
        """Repair ``nb`` against the gradebook's record of the assignment."""
        info = resources["nbgrader"]
        check_student_id(info["student"])
        expected, kernelspec = source_cells(
            info["db_url"], info["assignment"], info["notebook"],
            instructor_order(course_directory(self), info["assignment"], info["notebook"]))
        self._check_kernel(nb, kernelspec)
        if not nb.cells:
            raise SubmissionProblem(
                f"{info['notebook']}.ipynb has no cells: an empty notebook was handed in; ask "
                "the student for the notebook they worked in")
        by_name = {cell.name: cell for cell in expected}
        present = self._restore_metadata(nb, by_name)
        recognised = self._recognise_locked(nb, expected, present)
        if not self._holds_the_assignment(nb, by_name):
            raise SubmissionProblem(
                f"{info['notebook']}.ipynb holds none of {info['assignment']}'s cells (it has "
                f"{len(nb.cells)} cells, none from the assignment): another notebook was handed "
                "in; ask the student for the notebook they worked in")
        recognised += self._recognise_answers(nb, expected, present)
        if recognised:
            self._record(nb, "submission", "notebook",
                         f"{len(recognised)} cells had lost their nbgrader metadata (saved by "
                         "another tool?); recognised by content or place: "
                         + ", ".join(recognised))
        self._restore_deleted(nb, expected, present)
        self._restore_order(nb, [cell.name for cell in expected])
        return nb, resources

    @staticmethod
    def _holds_the_assignment(nb: NotebookNode, by_name: dict[str, SourceCell]) -> bool:
        """Whether ``nb`` has an answer cell of the assignment, or a locked cell with the
        instructor's text: a notebook with neither is another one (another assignment's cells
        share ids such as ``intro``), and grading it would grade something else."""
        for cell in nb.cells:
            wanted = by_name.get(grade_id(cell))
            if wanted and (not wanted.locked or cell.source.strip() == wanted.released.strip()):
                return True
        return False

    def _check_kernel(self, nb: NotebookNode, kernelspec: dict | None) -> None:
        submitted = nb.metadata.get("kernelspec", {})
        if kernelspec and submitted.get("name") != kernelspec.get("name"):
            self._record(nb, "submission", "notebook",
                         f"kernel {submitted.get('name')!r} instead of "
                         f"{kernelspec.get('name')!r} (nbgrader restores it)")

    def _restore_metadata(self, nb: NotebookNode, by_name: dict[str, SourceCell]) -> set[str]:
        """Set the nbgrader metadata of every cell that names a cell of the assignment; remove
        it where it names none (or one named before). Returns the names present."""
        present: set[str] = set()
        for index, cell in enumerate(nb.cells):
            meta = cell.metadata.get("nbgrader")
            if meta is None:
                continue
            name = grade_id(cell)
            if name not in by_name or name in present:
                problem = "names a cell twice" if name in present else "names no cell"
                cell.metadata.pop("nbgrader")
                if isinstance(meta, dict) and (meta.get("locked") or meta.get("grade")):
                    self._record(nb, "tampering", integrity.cell_name(cell, index),
                                 f"nbgrader metadata that {problem} of the assignment was removed")
                continue
            present.add(name)
            wanted = by_name[name]
            changed = [flag for flag, value in wanted.flags().items()
                       if bool(meta.get(flag)) != value]
            if wanted.points is not None and float(meta.get("points", -1)) != wanted.points:
                changed.append("points")
            if cell.cell_type != wanted.cell_type:
                changed.append("cell type")
                OverwriteCells().update_cell_type(cell, wanted.cell_type)
            meta.update(wanted.flags())
            if wanted.points is not None:
                meta["points"] = wanted.points
            if changed:
                self._record(nb, "tampering", name,
                             f"changed nbgrader settings ({', '.join(changed)}), restored")
            if wanted.locked and cell.source != wanted.released:
                self._record(nb, "tampering", name, "edited a locked cell, restored")
        return present

    def _recognise_locked(self, nb: NotebookNode, expected: list[SourceCell],
                          present: set[str]) -> list[str]:
        """Give each cell without nbgrader metadata that has the content of a missing locked
        cell that cell's metadata; the names recognised."""
        recognised: list[str] = []
        for wanted in expected:
            if wanted.name in present or not wanted.locked:
                continue
            match = next((cell for cell in nb.cells if "nbgrader" not in cell.metadata
                          and cell.cell_type == wanted.cell_type
                          and cell.source.strip() == wanted.released.strip()), None)
            if match is not None:
                self._adopt(match, wanted, present, recognised)
        return recognised

    def _recognise_answers(self, nb: NotebookNode, expected: list[SourceCell],
                           present: set[str]) -> list[str]:
        """Give a missing answer cell's metadata to the first cell of its type without
        nbgrader metadata between the cells before and after it; the names recognised."""
        recognised: list[str] = []
        for position, wanted in enumerate(expected):
            if wanted.name in present or wanted.locked:
                continue
            before = [c.name for c in expected[:position] if c.name in present]
            after = [c.name for c in expected[position + 1:] if c.name in present]
            index = {grade_id(cell): i for i, cell in enumerate(nb.cells)}
            low = index[before[-1]] if before else -1
            high = index[after[0]] if after else len(nb.cells)
            match = next((cell for cell in nb.cells[low + 1:high]
                          if "nbgrader" not in cell.metadata
                          and cell.cell_type == wanted.cell_type), None)
            if match is not None:
                self._adopt(match, wanted, present, recognised)
        return recognised

    @staticmethod
    def _adopt(cell: NotebookNode, wanted: SourceCell, present: set[str],
               recognised: list[str]) -> None:
        cell.metadata.update(wanted.new_cell().metadata)
        present.add(wanted.name)
        recognised.append(wanted.name)

    def _restore_deleted(self, nb: NotebookNode, expected: list[SourceCell],
                         present: set[str]) -> None:
        """Put back every missing cell after the cell that precedes it in the source."""
        for position, wanted in enumerate(expected):
            if wanted.name in present:
                continue
            before = {c.name for c in expected[:position]}
            anchors = [i for i, cell in enumerate(nb.cells) if grade_id(cell) in before]
            nb.cells.insert(anchors[-1] + 1 if anchors else 0, wanted.new_cell())
            present.add(wanted.name)
            if wanted.solution and wanted.points is not None:
                self._record(nb, "submission", wanted.name,
                             "deleted this answer (graded by hand); restored empty, it scores 0 "
                             "unless a grader finds the answer elsewhere in the notebook")
            elif wanted.solution:
                self._record(nb, "submission", wanted.name,
                             "deleted an answer cell, restored empty")
            else:
                what = "a test cell" if wanted.points is not None else "a locked cell"
                self._record(nb, "tampering", wanted.name, f"deleted {what}, restored")

    def _restore_order(self, nb: NotebookNode, order: list[str]) -> None:
        """Put the nbgrader cells back in the instructor's order, each with the cells the
        student added after it (a test cell moved above its answer would fail for nothing,
        one moved below later answers would test them)."""
        blocks: list[tuple[int, list[NotebookNode]]] = [(-1, [])]
        for cell in nb.cells:
            name = grade_id(cell)
            if name in order:
                blocks.append((order.index(name), [cell]))
            else:
                blocks[-1][1].append(cell)
        positions = [position for position, _ in blocks]
        if positions != sorted(positions):
            nb.cells = [cell for _, cells in sorted(blocks, key=lambda b: b[0]) for cell in cells]
            self._record(nb, "tampering", "notebook", "moved nbgrader cells, put back in order")

    @staticmethod
    def _record(nb: NotebookNode, kind: str, where: str, detail: str) -> None:
        integrity.record(nb, Finding(kind, where, detail))
