"""A simulated class for the similarity report: honest students and planted, disguised copies.

Shared by ``tests/test_similarity.py`` and ``benchmarks/similarity.py``.

An **honest student** hands in one of the harness's variants of the assignment (the
reference, a plausible mistake or a valid alternative: the natural solution with one
deviation, or an answer written independently; each variant once), or, in a class larger
than the harness, for each task one of the harness's answers to it (the reference half of
the time), in their own style:

* cosmetic habits the report must see through without taking them for evidence: their own
  variable names, comments, debugging prints, and their own numbers (issue 21's
  per-student variants give every student different constants);
* with probability ``style`` at each place where it applies, a small rewrite a person makes
  that changes the code's text but not what it computes: ``b * a`` for ``a * b``, ``b > a``
  for ``a < b``, ``range(0, n)`` for ``range(n)``, ``np.array`` for ``np.asarray``, keyword
  arguments in another order, a result named before it is returned, a nested call's
  argument named first. Two honest
  students with the same variant differ only in these; ``style=0`` makes them identical.

A **copier** takes another student's notebook and disguises it: every variable and parameter
renamed, the functions of each cell in another order (and the cells' definitions moved
between cells when there are several), comments and prints added, and every number changed
to the copier's own.
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from dlmath.variants import Variant, build_submission, load_variants

REPO = Path(__file__).resolve().parents[1]
WORDS = ["value", "result", "step", "point", "grid", "matrix", "total", "item", "data", "out",
         "current", "state", "vec", "arr", "tmp", "res", "acc", "buf", "cand", "part"]
COMMENTS = ["# compute the next step", "# TODO check this", "# helper values",
            "# loop over everything", "# this part was tricky", "# make sure shapes match",
            "# result", "# edge case"]


def _is_answer(cell: NotebookNode) -> bool:
    return cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution", False)


def _prescribed_names(release: NotebookNode) -> set[str]:
    """Names the release notebook uses: the functions and variables the tests call for."""
    names = set()
    for cell in release.cells:
        if cell.cell_type == "code":
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names |= {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
            names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return names


class _Rename(ast.NodeTransformer):
    """Renames the names a cell binds (not the ones the tests call for) with ``fresh``."""

    def __init__(self, keep: set[str], fresh: Callable[[str], str]) -> None:
        self.keep, self.fresh, self.names = keep, fresh, {}

    def _new(self, name: str) -> str:
        if name in self.keep or name.startswith("__"):
            return name
        return self.names.setdefault(name, self.fresh(name))

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self.names.get(node.id, node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._new(node.arg)
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.name = self._new(node.name)
        return self.generic_visit(node)


def _bound(tree: ast.AST) -> set[str]:
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
             and isinstance(n.ctx, ast.Store)}
    names |= {n.arg for n in ast.walk(tree) if isinstance(n, ast.arg)}
    return names | {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}


def rename_variables(source: str, keep: set[str], rng: random.Random) -> str:
    """``source`` with every name it binds renamed, except the names in ``keep`` that it
    defines at the top level (the functions and variables the tests call for)."""
    tree = ast.parse(source)
    top = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    top |= {t.id for n in tree.body if isinstance(n, ast.Assign) for t in n.targets
            if isinstance(t, ast.Name)}
    taken = _bound(tree) | keep

    def fresh(_: str) -> str:
        while True:
            name = f"{rng.choice(WORDS)}_{rng.randint(1, 99)}"
            if name not in taken:
                taken.add(name)
                return name

    # A prescribed name is kept only where the cell defines it; parameters named like one
    # (``paths``, ``lr``) are the student's to rename.
    keep_here = (keep & top) | (keep - _bound(tree))
    # Module-level names the cell reads but does not bind (given code) are kept too.
    renamer = _Rename(keep_here, fresh)
    for name in sorted(_bound(tree)):  # before any use: a function may be used above its def
        renamer._new(name)
    return ast.unparse(renamer.visit(tree))


class _Restyle(ast.NodeTransformer):
    """The honest rewrites of the module docstring, each with probability ``p`` per place."""

    def __init__(self, rng: random.Random, p: float) -> None:
        self.rng, self.p = rng, p
        self.prefix: list[ast.stmt] = []
        self.counter = 0

    def _go(self) -> bool:
        return self.rng.random() < self.p

    def _temp(self) -> str:
        self.counter += 1
        return f"{self.rng.choice(WORDS)}{self.counter}"

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult) and self._go():
            node.left, node.right = node.right, node.left
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        flips = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
        if len(node.ops) == 1 and type(node.ops[0]) in flips and self._go():
            return ast.Compare(left=node.comparators[0], ops=[flips[type(node.ops[0])]()],
                               comparators=[node.left])
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Name) and func.id == "range" and len(node.args) == 1 \
                and self._go():
            node.args.insert(0, ast.Constant(0))
        elif isinstance(func, ast.Attribute) and func.attr == "asarray" and self._go():
            func.attr = "array"
        if len(node.keywords) > 1 and self._go():
            self.rng.shuffle(node.keywords)
        return node

    def _body(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for statement in body:
            out.extend(self._statement(statement))
        return out

    def _statement(self, statement: ast.stmt) -> list[ast.stmt]:
        for name, value in ast.iter_fields(statement):
            if name in ("body", "orelse", "finalbody") and isinstance(value, list):
                setattr(statement, name, self._body(value))
            elif name == "handlers":
                for handler in value:
                    handler.body = self._body(handler.body)
            elif isinstance(value, ast.AST):
                setattr(statement, name, self.visit(value))
            elif isinstance(value, list):
                setattr(statement, name, [self.visit(v) if isinstance(v, ast.AST) else v
                                          for v in value])
        if isinstance(statement, ast.Return) and statement.value is not None \
                and not isinstance(statement.value, ast.Name | ast.Constant) and self._go():
            name = self._temp()
            return [ast.Assign(targets=[ast.Name(name, ast.Store())], value=statement.value),
                    ast.Return(ast.Name(name, ast.Load()))]
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            inner = [a for a in statement.value.args if isinstance(a, ast.Call)]
            if inner and self._go():
                name = self._temp()
                index = statement.value.args.index(inner[0])
                statement.value.args[index] = ast.Name(name, ast.Load())
                return [ast.Assign(targets=[ast.Name(name, ast.Store())], value=inner[0]),
                        statement]
        return [statement]


def restyle(source: str, rng: random.Random, p: float) -> str:
    """An honest student's own spelling of ``source`` (see the module docstring)."""
    if p <= 0:
        return source
    tree = ast.parse(source)
    rewriter = _Restyle(rng, p)
    tree.body = rewriter._body(tree.body)
    return ast.unparse(ast.fix_missing_locations(tree))


class _Numbers(ast.NodeTransformer):
    """Every number changed to another of the same type (the copier's own constants)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return node
        if isinstance(value, int):
            return ast.Constant(value + self.rng.randint(1, 9))
        return ast.Constant(round(value * self.rng.uniform(1.1, 3.0), 6) or 0.5)


def change_numbers(source: str, rng: random.Random) -> str:
    """``source`` with every numeric literal replaced by a different one."""
    return ast.unparse(_Numbers(rng).visit(ast.parse(source)))


def add_comments_and_prints(source: str, rng: random.Random, rate: float = 0.3) -> str:
    """Comment lines and ``print`` calls added after some statements (cosmetic)."""
    lines = []
    for line in source.splitlines():
        lines.append(line)
        stripped = line.strip()
        indent = line[:len(line) - len(line.lstrip())]
        if stripped.startswith(("return", "raise", "else", "elif", "except", "finally", "@")) \
                or stripped.endswith((":", ",", "(", "[", "{", "\\")) or not stripped:
            continue
        if rng.random() < rate:
            lines.append(indent + rng.choice(COMMENTS))
        if rng.random() < rate / 2 and "=" in stripped and not stripped.startswith("if"):
            target = stripped.split("=", 1)[0].strip().split("[")[0].split(",")[0]
            if target.isidentifier():
                lines.append(f"{indent}print('debug', {target})")
    return "\n".join(lines)


def reorder_definitions(sources: list[str], rng: random.Random) -> list[str]:
    """Each cell's top-level functions shuffled; with several cells, one function of a cell
    with more than one moved to another cell (copying by cells, then tidying)."""
    cells = []
    for source in sources:
        tree = ast.parse(source)
        definitions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        others = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
        rng.shuffle(definitions)
        cells.append([ast.unparse(n) for n in definitions] + [ast.unparse(n) for n in others])
    return ["\n\n\n".join(parts) for parts in cells]


@dataclass(frozen=True)
class Student:
    """A simulated student's hand-in: who, which variant, and whom they copied (if anyone)."""

    student_id: str
    variant: str
    copied_from: str | None = None


def personalise(sources: list[str], keep: set[str], rng: random.Random) -> list[str]:
    """Cosmetic changes only: names, comments, prints, numbers."""
    return [add_comments_and_prints(change_numbers(rename_variables(s, keep, rng), rng), rng)
            for s in sources]


def disguise(sources: list[str], keep: set[str], rng: random.Random) -> list[str]:
    """A copier's disguise of another student's answer cells (module docstring)."""
    return personalise(reorder_definitions(sources, rng), keep, rng)


class ClassBuilder:
    """Writes a simulated class of one assignment into ``course/submitted``."""

    def __init__(self, course: Path, assignment: str, seed: int = 0) -> None:
        self.course, self.assignment = course, assignment
        self.source_nb = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb",
                                       as_version=4)
        self.release_nb = nbformat.read(REPO / "release" / assignment / f"{assignment}.ipynb",
                                        as_version=4)
        self.keep = _prescribed_names(self.release_nb)
        self.variants = [v for v in load_variants(REPO / "grader_tests" / "variants", assignment)
                         if v.kind != "blank"]
        self.rng = random.Random(seed)
        self.answers: dict[str, list[str]] = {}
        release = course / "release" / assignment / f"{assignment}.ipynb"
        release.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(self.release_nb, release)

    def _write(self, student: str, sources: list[str]) -> None:
        notebook = build_submission(self.source_nb, self.release_nb,
                                    Variant(self.assignment, "reference", "reference", ""))
        for cell, source in zip((c for c in notebook.cells if _is_answer(c)), sources,
                                strict=True):
            cell.source = source
        target = self.course / "submitted" / student / self.assignment / \
            f"{self.assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        self.answers[student] = sources

    def honest(self, student: str, variant: Variant, style: float) -> Student:
        """An honest student handing in ``variant`` in their own style."""
        notebook = build_submission(self.source_nb, self.release_nb, variant)
        sources = [restyle(c.source, self.rng, style) for c in notebook.cells if _is_answer(c)]
        self._write(student, personalise(sources, self.keep, self.rng))
        return Student(student, variant.name)

    def copier(self, student: str, original: Student) -> Student:
        """A student who copied ``original``'s answer cells and disguised them."""
        self._write(student, disguise(self.answers[original.student_id], self.keep, self.rng))
        return Student(student, original.variant, copied_from=original.student_id)

    def mixed(self, student: str, style: float) -> Student:
        """An honest student whose answer to each task is one of the harness's answers to
        it (the natural solution half of the time), in their own style."""
        if not hasattr(self, "_cells"):
            self._cells = [[c.source for c in build_submission(self.source_nb, self.release_nb,
                                                                v).cells if _is_answer(c)]
                           for v in self.variants]
        picks = [0 if self.rng.random() < 0.5 else self.rng.randrange(len(self.variants))
                 for _ in self._cells[0]]
        sources = [restyle(self._cells[pick][i], self.rng, style) for i, pick in enumerate(picks)]
        self._write(student, personalise(sources, self.keep, self.rng))
        return Student(student, "mixed")

    def build(self, n_honest: int, n_copied: int, style: float, rings: int = 0,
              ) -> list[Student]:
        """``n_honest`` honest students: one for each harness variant (each is different
        work), the others mixing the harness's answers task by task (``mixed``), all in their
        own style; then copies of ``n_copied`` of them chosen at random, ``rings`` of which
        are copied twice (clusters of three)."""
        students = [self.honest(f"h{i:05d}", self.variants[i], style)
                    if i < len(self.variants) else self.mixed(f"h{i:05d}", style)
                    for i in range(n_honest)]
        originals = self.rng.sample(students, n_copied)
        copies = []
        for index, original in enumerate(originals):
            copies.append(self.copier(f"c{len(copies):05d}", original))
            if index < rings:
                copies.append(self.copier(f"c{len(copies):05d}", original))
        return students + copies


def copy_truth(students: list[Student]) -> set[frozenset[str]]:
    """The pairs that share code by copying: each copier with the original and with every
    other copier of the same original."""
    groups: dict[str, set[str]] = {}
    for student in students:
        if student.copied_from:
            groups.setdefault(student.copied_from, {student.copied_from}).add(student.student_id)
    return {frozenset((a, b)) for group in groups.values() for a in group for b in group
            if a < b}
