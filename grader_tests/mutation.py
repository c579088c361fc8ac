"""Mutation testing of the test cells: how many small bugs in the reference solutions they catch.

Each *mutant* is the reference solution of one exercise with one small change in one top-level
definition (one function, or an assignment such as ``paths``): an operator or comparison
swapped, a number off by one, a norm order or an axis changed, a validation dropped, an input
aliased or changed in place, a plot drawn on the current axes instead of ``ax``. A test cell
*kills* a mutant when the mutant loses its points.

The generic operators are Cosmic Ray's (``cosmic_ray.operators``, applied with its
``mutate_code``); the ones specific to this course (:data:`COURSE_OPERATORS`) implement Cosmic
Ray's ``Operator`` interface too. Numbers in a plot's styling keywords (``figsize``,
``markersize``, ...) are not mutated: they change how a plot looks, not what it shows.

Mutants run fast, in-process: every code cell of the source notebook with an nbgrader role runs
in one namespace (answer cells with the mutated definition, given cells, then each test cell,
whose hidden part the source holds), in a fresh process per mutant, as a student's kernel
would run them (the grader's own path, the judge, is checked by the harness's variants).
``benchmarks/mutation_score.py`` runs the whole pass; ``test_mutation.py`` runs the triaged
equivalent mutants and a fixed sample in CI. Equivalent mutants (valid programs that the tests
rightly accept) are listed with the reason in ``mutation_triage.toml``.
"""

from __future__ import annotations

import ast
import contextlib
import copy
import difflib
import hashlib
import io
import multiprocessing
import os
import signal
import sys
import tomllib
import types
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import parso
from cosmic_ray.ast import ast_nodes
from cosmic_ray.mutating import mutate_code
from cosmic_ray.operators.operator import Example, Operator
from cosmic_ray.plugins import get_operator

from dlmath.cells import ANSWER, GIVEN, TEST, cell_role, grade_id, is_answer_cell
from dlmath.variants import SHARED, identity
from grader_tests.students import (
    reference_code,
    replace_definitions,
    top_level_definitions,
)

TRIAGE_FILE = Path(__file__).with_name("mutation_triage.toml")

# Cosmic Ray's operators that make plausible mistakes in this course's code: arithmetic and
# comparison swaps, off-by-one numbers, flipped booleans and conditions, dropped negations,
# loops that never run. (Its other binary swaps, to bit shifts and the like, only make code
# that crashes at once, and its variable inserter/replacer picks names at random.)
COSMIC_RAY_OPERATORS = tuple(f"core/{name}" for name in (
    "ReplaceBinaryOperator_Add_Sub", "ReplaceBinaryOperator_Sub_Add",
    "ReplaceBinaryOperator_Mul_Div", "ReplaceBinaryOperator_Div_Mul",
    "ReplaceBinaryOperator_Div_FloorDiv", "ReplaceBinaryOperator_Pow_Mul",
    "ReplaceComparisonOperator_Lt_LtE", "ReplaceComparisonOperator_LtE_Lt",
    "ReplaceComparisonOperator_Gt_GtE", "ReplaceComparisonOperator_GtE_Gt",
    "ReplaceComparisonOperator_Lt_Gt", "ReplaceComparisonOperator_Gt_Lt",
    "ReplaceComparisonOperator_Eq_NotEq", "ReplaceComparisonOperator_NotEq_Eq",
    "ReplaceComparisonOperator_Is_IsNot", "ReplaceComparisonOperator_IsNot_Is",
    "ReplaceUnaryOperator_Delete_USub", "ReplaceUnaryOperator_Delete_Not",
    "ReplaceTrueWithFalse", "ReplaceFalseWithTrue", "ReplaceAndWithOr", "ReplaceOrWithAnd",
    "AddNot", "NumberReplacer", "ZeroIterationForLoop",
))

# Keyword arguments that only style a plot.
STYLE_KEYWORDS = frozenset({"alpha", "cmap", "color", "colors", "figsize", "levels", "linestyle",
                            "linewidth", "linewidths", "loc", "ls", "marker", "markersize", "s"})
# Calls whose arguments only build the grid a contour plot is evaluated on.
GRID_CALLS = frozenset({"np.meshgrid"})


class _Rewrite(Operator):
    """A course operator: each mutation rewrites the source text of one node."""

    def rewrites(self, node: Any) -> list[str]:
        """The texts that may replace ``node`` (its code without the leading whitespace)."""
        raise NotImplementedError

    def mutation_positions(self, node: Any) -> Iterator[tuple[tuple[int, int], tuple[int, int]]]:
        for _ in self.rewrites(node):
            yield node.start_pos, node.end_pos

    def mutate(self, node: Any, index: int) -> Any:
        # Like Cosmic Ray's own operators, return a parsed fragment: only its code is used.
        return parso.parse(node.get_first_leaf().prefix + self.rewrites(node)[index])

    @classmethod
    def examples(cls) -> tuple[Example, ...]:
        return ()


def _code(node: Any) -> str:
    return node.get_code(include_prefix=False)


def _call(node: Any, function: str) -> tuple[str, str] | None:
    """(what is called, the argument text) if ``node`` is exactly ``function(...)``."""
    if node.type != "atom_expr" or node.children[-1].type != "trailer":
        return None
    call = node.children[-1]
    callee = "".join(_code(c) for c in node.children[:-1]).replace(" ", "")
    if callee != function or _code(call.children[0]) != "(":
        return None
    return callee, "".join(c.get_code() for c in call.children[1:-1])


class NormOrder(_Rewrite):
    """``np.linalg.norm(x)`` with another ``ord``: the max-norm, the 1-norm, the matrix 2-norm."""

    def rewrites(self, node: Any) -> list[str]:
        call = _call(node, "np.linalg.norm")
        if call is None or "ord" in call[1]:
            return []
        return [f"np.linalg.norm({call[1]}, ord={order})" for order in ("np.inf", "1", "2")]


class AxisChange(_Rewrite):
    """``axis=k`` reduces along another axis, or along all of them (``axis=None``)."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type != "argument" or _code(node.children[0]) != "axis":
            return []
        value = _code(node.children[2]).replace(" ", "")
        return [f"axis={other}" for other in ("0", "1", "None")
                if other != value and {other, value} != {"1", "-1"}]


class DropValidation(_Rewrite):
    """An ``if ...: raise`` check dropped entirely, or one of its ``or`` conditions dropped."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type != "if_stmt" or len(node.children) != 4 or "raise" not in _code(
                node.children[3]).split():
            return []
        condition, rest = node.children[1], "".join(c.get_code() for c in node.children[2:])
        texts = [f"if False{rest}"]
        if condition.type == "or_test":
            operands = [_code(c) for c in condition.children[::2]]
            for dropped in range(len(operands)):
                kept = " or ".join(o for i, o in enumerate(operands) if i != dropped)
                texts.append(f"if {kept}{rest}")
        return texts


class InPlace(_Rewrite):
    """Aliasing and in-place changes: no copy of an input, updates written into it."""

    def rewrites(self, node: Any) -> list[str]:
        call = _call(node, "np.array")
        if call is not None and call[1].split(",")[0].strip().isidentifier():
            # np.asarray does not copy an input array that already has the dtype.
            return [f"np.asarray({call[1]})"]
        call = _call(node, "np.clip")
        if call is not None and call[1].split(",")[0].strip().isidentifier():
            return [f"np.clip({call[1]}, out={call[1].split(',')[0].strip()})"]
        if node.type == "atom_expr" and [_code(c) for c in node.children[-2:]] == [".copy", "()"]:
            return ["".join(c.get_code() for c in node.children[:-2]).lstrip()]
        if node.type == "expr_stmt" and len(node.children) == 3 and _code(node.children[1]) == "=":
            target, value = node.children[0], node.children[2]
            if (target.type == "name" and value.type in ("arith_expr", "term")
                    and len(value.children) == 3 and _code(value.children[0]) == target.value):
                operator = _code(value.children[1])
                return [f"{target.value} {operator}= {_code(value.children[2])}"]
        return []


# The Axes methods whose result the plot tests read (not titles and axis labels).
GRADED_AXES_METHODS = frozenset({"add_patch", "contour", "contourf", "legend", "loglog", "plot",
                                 "scatter", "set_aspect", "set_xscale", "set_yscale"})


class CurrentAxes(_Rewrite):
    """``ax.method(...)`` drawn with ``plt.gca().method(...)``: on the current axes, not ``ax``."""

    def rewrites(self, node: Any) -> list[str]:
        if (node.type == "atom_expr" and _code(node.children[0]) == "ax"
                and len(node.children) == 3 and node.children[2].type == "trailer"
                and _code(node.children[1])[1:] in GRADED_AXES_METHODS):
            return ["plt.gca()" + "".join(c.get_code() for c in node.children[1:])]
        return []


# Functions a student can plausibly confuse: (spelled as, swapped for).
_SWAPS = {"max": "min", "min": "max", "argmax": "argmin", "argmin": "argmax", "sum": "mean",
          "log": "log2", "ceil": "floor", "eigvalsh": "eigvals", "tanh": "sinh"}


class FunctionSwap(_Rewrite):
    """A function confused with a neighbour (max/min, sum/mean, log/log2, ceil/floor, ...), or
    an ``np.abs`` left out."""

    def rewrites(self, node: Any) -> list[str]:
        call = _call(node, "np.abs")
        if call is not None:
            return [f"({call[1]})"]
        if (node.type == "trailer" and _code(node.children[0]) == "."
                and node.children[1].value in _SWAPS):
            following = node.get_next_sibling()
            if following is not None and _code(following).startswith("("):
                return [f".{_SWAPS[node.children[1].value]}"]
        return []


class Precision(_Rewrite):
    """Single precision where the course asks for float64 (``torch.float64``, ``dtype=float``)."""

    def rewrites(self, node: Any) -> list[str]:
        if node.type == "atom_expr" and _code(node).replace(" ", "") in ("np.float64",
                                                                          "torch.float64"):
            return [_code(node).replace("float64", "float32")]
        if (node.type == "argument" and _code(node.children[0]) == "dtype"
                and _code(node.children[2]) == "float"):
            return ["dtype=np.float32"]
        return []


COURSE_OPERATORS: dict[str, type[_Rewrite]] = {
    f"dlmath/{cls.__name__}": cls
    for cls in (NormOrder, AxisChange, DropValidation, InPlace, CurrentAxes, FunctionSwap,
                Precision)
}


def operator_class(name: str) -> type[Operator]:
    """The operator class called ``name`` (``core/...`` for Cosmic Ray's, ``dlmath/...``)."""
    return COURSE_OPERATORS[name] if name in COURSE_OPERATORS else get_operator(name)


@dataclass(frozen=True)
class Mutant:
    """One changed definition of one exercise's reference solution."""

    assignment: str
    definition: str
    operator: str
    occurrence: int
    code: str
    change: str

    @property
    def id(self) -> str:
        """Stable while the reference definition does not change."""
        return f"{self.assignment}:{self.definition}:{self.operator}:{self.occurrence}"


def _styling(node: Any) -> bool:
    """Whether ``node`` sits in a styling keyword argument of a call, or in a contour grid."""
    parent = node
    while parent is not None:
        if parent.type == "argument" and _code(parent.children[0]) in STYLE_KEYWORDS:
            return True
        if any(_call(parent, grid) for grid in GRID_CALLS):
            return True
        parent = parent.parent
    return False


def describe_change(original: str, mutated: str) -> str:
    """``line N: `old` -> `new``` for the changed lines of a definition."""
    old, new = original.splitlines(), mutated.splitlines()
    parts = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new).get_opcodes():
        if tag != "equal":
            before = " / ".join(line.strip() for line in old[i1:i2])
            after = " / ".join(line.strip() for line in new[j1:j2])
            parts.append(f"line {i1 + 1}: `{before}` -> `{after}`")
    return "; ".join(parts)


def mutants_of(assignment: str, name: str, code: str,
               operators: Iterable[str] = COSMIC_RAY_OPERATORS + tuple(COURSE_OPERATORS),
               ) -> list[Mutant]:
    """Every mutant of one definition (``code``), operator by operator; of mutants that make
    the same program (``axis=-0`` and ``axis=0``, say) only the first."""
    found, programs = [], {ast.dump(ast.parse(code))}
    tree = parso.parse(code)
    for operator_name in operators:
        operator = operator_class(operator_name)()
        occurrence = -1
        for node in ast_nodes(tree):
            for _ in operator.mutation_positions(node):
                occurrence += 1
                if _styling(node):
                    continue
                mutated = mutate_code(code, operator, occurrence)
                if mutated is None:
                    continue
                try:
                    program = ast.dump(ast.parse(mutated))
                except SyntaxError:
                    continue
                if program in programs:
                    continue
                programs.add(program)
                found.append(Mutant(assignment, name, operator_name, occurrence, mutated,
                                    describe_change(code, mutated)))
    return found


def reference_definitions(source_nb: nbformat.NotebookNode) -> dict[str, str]:
    """name -> code of every top-level definition in the notebook's answer cells."""
    definitions: dict[str, str] = {}
    for cell in source_nb.cells:
        if is_answer_cell(cell):
            definitions.update(top_level_definitions(reference_code(cell))[1])
    return definitions


def all_mutants(assignment: str, source_nb: nbformat.NotebookNode) -> list[Mutant]:
    """Every mutant of every reference definition of ``assignment``."""
    return [mutant for name, code in reference_definitions(source_nb).items()
            for mutant in mutants_of(assignment, name, code)]


# -- running the test cells -------------------------------------------------------------------

@dataclass(frozen=True)
class Cell:
    """A code cell with an nbgrader role, as the runner needs it."""

    role: str  # ANSWER, GIVEN or TEST (dlmath.cells)
    name: str
    source: str


def notebook_cells(source_nb: nbformat.NotebookNode) -> list[Cell]:
    """The cells a graded run executes (the source notebook's "try it" cells are not)."""
    cells = []
    for cell in source_nb.cells:
        role = cell_role(cell)
        if role not in (ANSWER, TEST, GIVEN):
            continue
        cells.append(Cell(role, grade_id(cell),
                          reference_code(cell) if role == ANSWER else cell.source))
    return cells


def test_cell_names(cells: list[Cell]) -> list[str]:
    """The test cells, in notebook order."""
    return [cell.name for cell in cells if cell.role == TEST]


class _Timeout(Exception):
    pass


def _alarm(signum: int, frame: Any) -> None:
    raise _Timeout


def _install_modules(modules: dict[str, str]) -> None:
    """Replace the named modules (e.g. an earlier revision's ``dlmath.checks``) by ``modules``'
    source, in this process only."""
    for name, source in modules.items():
        module = types.ModuleType(name)
        module.__file__ = f"<{name}>"
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)  # noqa: S102
        sys.modules[name] = module
        package, _, attribute = name.rpartition(".")
        if package in sys.modules:
            setattr(sys.modules[package], attribute, module)


def run_cells(cells: list[Cell], overrides: dict[str, str], modules: dict[str, str] | None = None,
              timeout: float = 60.0, variant: str = SHARED) -> set[str]:
    """Run the notebook with ``overrides`` replacing reference definitions (and ``modules``
    replacing library modules), with the numbers of the student whose variant key is
    ``variant`` (default: the shared variant); return the names of the test cells that fail.
    Meant for a child process: it changes global state."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _install_modules(modules or {})
    namespace: dict[str, Any] = {"__name__": "__main__"}
    failed = set()
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        with identity.grading_as(variant):  # the given cells compute this student's numbers
            for cell in cells:
                source = (replace_definitions(cell.source, overrides)[0] if cell.role == ANSWER
                          else cell.source)
                try:
                    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        exec(compile(source, f"<{cell.name}>", "exec"), namespace)  # noqa: S102
                except _Timeout:
                    raise
                except BaseException:  # noqa: BLE001 - a failing cell is the mutant's verdict
                    if cell.role == TEST:
                        failed.add(cell.name)
                finally:
                    plt.close("all")
    except _Timeout:  # the cell that timed out, and every later test cell, fail
        done = {c.name for c in cells[:cells.index(cell)]}
        failed |= {name for name in test_cell_names(cells) if name not in done}
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return failed


# Each run is a process forked from a server that imported these once (the main module too,
# which each child would import again otherwise), single-threaded: a BLAS with a thread per
# core only fights the other runs for the cores (a 1000 x 1000 eigendecomposition took 15 times
# longer that way on a busy 2-core machine).
_PRELOAD = ["__main__", "numpy", "scipy.special", "matplotlib.pyplot", "torch",
            "dlmath.checks.plots", "mutation"]
_SINGLE_THREADED = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@contextlib.contextmanager
def _pool(workers: int | None) -> Iterator[Any]:
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    saved = dict(os.environ)
    # Inherited by the server when it starts (it does not get this process's sys.path): this
    # folder (mutation) and the repository (grader_tests.students).
    os.environ.update(_SINGLE_THREADED, PYTHONPATH=os.pathsep.join(
        [str(Path(__file__).parent), str(Path(__file__).parents[1]),
         *filter(None, [os.environ.get("PYTHONPATH")])]))
    try:
        pool = context.Pool(workers or os.cpu_count() or 1, maxtasksperchild=1)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with pool:
        yield pool


def _run_one(task: tuple[list[Cell], dict[str, str], str, dict[str, str]],
             ) -> tuple[str, frozenset[str]]:
    cells, modules, label, overrides = task
    return label, frozenset(run_cells(cells, overrides, modules))


def run_many(cells: list[Cell], runs: dict[str, dict[str, str]], workers: int | None = None,
             modules: dict[str, str] | None = None) -> dict[str, frozenset[str]]:
    """label -> the test cells that fail when ``runs[label]``'s definitions replace the
    reference's; each run in a fresh process of its own."""
    tasks = [(cells, modules or {}, label, overrides) for label, overrides in runs.items()]
    with _pool(workers) as pool:
        return dict(pool.imap_unordered(_run_one, tasks))


def run_mutants(cells: list[Cell], mutants: list[Mutant], workers: int | None = None,
                modules: dict[str, str] | None = None) -> dict[str, frozenset[str]]:
    """mutant id -> the test cells it fails."""
    return run_many(cells, {m.id: {m.definition: m.code} for m in mutants}, workers, modules)


# -- which test cells test which definition, and the triage ----------------------------------

def tested_definitions(cells: list[Cell], definitions: Iterable[str]) -> dict[str, set[str]]:
    """test cell -> the reference definitions it uses by name (directly, or through a given
    cell that binds a name from them, like ``table = spectrum_table(SIZES, SEED)``)."""
    definitions = set(definitions)
    via_given: dict[str, set[str]] = {}
    for cell in cells:
        if cell.role == GIVEN:
            loaded, bound = _names(cell.source)
            for name in bound:
                via_given[name] = loaded & definitions
    tested = {}
    for cell in cells:
        if cell.role == TEST:
            loaded, _ = _names(cell.source)
            tested[cell.name] = (loaded & definitions).union(
                *(via_given[n] for n in loaded if n in via_given))
    return tested


def _names(source: str) -> tuple[set[str], set[str]]:
    loaded, bound = set(), set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
    return loaded, bound


@dataclass(frozen=True)
class Triage:
    """An equivalent mutant: a valid program the tests rightly accept, and why."""

    id: str
    change: str
    why: str


def load_triage(path: Path = TRIAGE_FILE) -> dict[str, Triage]:
    """mutant id -> its triage entry."""
    entries = tomllib.loads(path.read_text(encoding="utf-8")).get("equivalent", [])
    return {e["id"]: Triage(e["id"], e["change"], e["why"]) for e in entries}


def sample(mutants: list[Mutant], per_assignment: int) -> list[Mutant]:
    """A fixed, evenly spread sample: ``per_assignment`` mutants of each assignment."""
    chosen = []
    for assignment in sorted({m.assignment for m in mutants}):
        own = [m for m in mutants if m.assignment == assignment]
        step = max(1, len(own) // per_assignment)
        chosen += own[::step][:per_assignment]
    return chosen


# The NumPy functions whose results the runs of one student share: pure functions of their
# arguments, and the costliest calls of all (exercise 2's table, up to 1000 x 1000), which
# every run of a student makes again on the same matrices.
_SHARED_RESULTS = ("eigvals", "svd")


@contextlib.contextmanager
def _shared_linalg() -> Iterator[None]:
    """Within the block, ``np.linalg.eigvals`` and ``np.linalg.svd`` called again on an equal
    array (same dtype, shape and bytes) with the same arguments return a copy of the first
    result instead of computing it again; an error is never kept, and arrays that are not
    numeric (or arguments that cannot be compared) are always computed."""
    import numpy as np

    saved = {name: getattr(np.linalg, name) for name in _SHARED_RESULTS}
    results: dict[tuple[object, ...], Any] = {}

    def shared(name: str, function: Any) -> Any:
        def call(a: Any, *args: Any, **kwargs: Any) -> Any:
            array = np.asarray(a) if isinstance(a, np.ndarray | list | tuple) else None
            if array is None or array.dtype.kind not in "biufc":
                return function(a, *args, **kwargs)
            key = (name, array.dtype.str, array.shape,
                   hashlib.blake2b(np.ascontiguousarray(array).tobytes()).digest(),
                   args, tuple(sorted(kwargs.items())))
            try:
                hash(key)
            except TypeError:
                return function(a, *args, **kwargs)
            if key not in results:
                results[key] = function(a, *args, **kwargs)
            return copy.deepcopy(results[key])
        return call

    for name, function in saved.items():
        setattr(np.linalg, name, shared(name, function))
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(np.linalg, name, function)


def _run_student(task: tuple[list[Cell], str, dict[str, dict[str, str]]],
                 ) -> tuple[str, dict[str, frozenset[str]]]:
    cells, key, runs = task
    with _shared_linalg():
        return key, {label: frozenset(run_cells(cells, overrides, variant=key))
                     for label, overrides in runs.items()}


def run_per_student(cells: list[Cell], runs: dict[str, dict[str, dict[str, str]]],
                    workers: int | None = None) -> dict[str, dict[str, frozenset[str]]]:
    """variant key -> label -> the test cells that fail when ``runs[key][label]``'s definitions
    replace the reference's, under that student's numbers; the runs of one student share a
    process (a fresh one per student) and its eigenvalues and singular values of equal
    matrices (``_shared_linalg``), which keeps hundreds of runs within a few minutes."""
    tasks = [(cells, key, student_runs) for key, student_runs in runs.items()]
    with _pool(workers) as pool:
        return dict(pool.imap_unordered(_run_student, tasks))
