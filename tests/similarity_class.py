"""A simulated class for the similarity report: honest students and planted, disguised copies.

Shared by ``tests/test_similarity.py`` and ``benchmarks/similarity.py``.

**Honest students.** A real class does not hand in a handful of answers with small edits:
every student writes every task their own way, and two students rarely hand in the same
notebook even when, on a short task, they often write the same natural solution. The model:

1. *A starting point per task.* For each answer cell (a task), the student starts from the
   reference solution half of the time, otherwise from the harness's version of that cell
   in a variant drawn at random (``grader_tests/variants``: its valid alternatives, written
   independently, and its plausible mistakes; a variant that does not touch the cell leaves
   the reference).
2. *Habits.* Each student has their own habits: for each kind of rewrite in :data:`REWRITES`
   a rate drawn uniformly from [0, ``style``], the probability that they write it that way at
   each place where it applies. The rewrites are structural choices a person makes that
   change the code, not what it computes, and survive the report's normaliser (which undoes
   names, comments, prints, numbers and the order of functions): a loop or a comprehension,
   ``x * x`` or ``x ** 2``, ``a @ b`` or ``np.dot``, ``np.linalg.norm`` or the square root of
   a sum, a method or a function, an intermediate variable or not, early returns, how checks
   are combined and ordered and whether they live in a helper, the order of independent
   statements, which plotting options they bother with. With ``style=0`` the student hands
   in the starting points as the harness wrote them.
3. *Cosmetic habits* the report must see through without taking them for evidence: their own
   variable names, comments, debugging prints, and their own numbers (issue 21's per-student
   variants give every student different constants).

:func:`coincidence` measures how often two honest students hand in the same normalised code
for a task and for the whole notebook (the benchmark prints it, so the reader can see the
class is not degenerate); ``tests/test_similarity.py`` checks that the rewrites keep the
visible tests passing (four assignments; ex2's tests take a minute).

**Copiers** take another student's answer cells and disguise them: every variable and
parameter renamed (helpers the same way in every cell), the functions of each cell in
another order and one moved to another cell, comments and prints added, and every number
changed to the copier's own. A *partial* copier copies all tasks but ``own`` of them, which
they write themselves as an honest student would.
"""

from __future__ import annotations

import ast
import copy
import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from dlmath.reports.similarity import Cell, Release, normalise
from grader_tests.students import Variant, build_submission, load_variants

REPO = Path(__file__).resolve().parents[1]
WORDS = ["value", "result", "step", "point", "grid", "matrix", "total", "item", "data", "out",
         "current", "state", "vec", "arr", "tmp", "res", "acc", "buf", "cand", "part"]
COMMENTS = ["# compute the next step", "# TODO check this", "# helper values",
            "# loop over everything", "# this part was tricky", "# make sure shapes match",
            "# result", "# edge case"]

# The honest rewrites (what each habit does where it applies).
REWRITES = {
    "commute": "a * b as b * a",
    "flip": "a < b as b > a",
    "negate": "if a <= b as if not a > b",
    "square": "x ** 2 as x * x",
    "matmul": "a @ b as np.dot(a, b) or np.matmul(a, b), and np.dot(a, b) as a @ b",
    "sqrt": "np.sqrt(x) as x ** 0.5",
    "norm": "np.linalg.norm(v, axis=k) as np.sqrt(np.sum(np.square(v), axis=k))",
    "method": "x.sum(axis=k) as np.sum(x, axis=k) (sum, max, min, mean, any, all)",
    "function": "np.sum(a * b) as (a * b).sum() (an array expression's reduction as a method)",
    "asarray": "np.asarray(x, dtype=float) as np.array(x, dtype=float), np.asarray(x, float) "
               "or np.asarray(x).astype(float)",
    "range0": "range(n) as range(0, n)",
    "keywords": "a call's keyword arguments in another order",
    "plot_style": "a plotting call's optional style (marker, alpha, figsize, ...) left out",
    "name_result": "return e as r = e; return r",
    "name_argument": "y = f(g(x)) as t = g(x); y = f(t)",
    "early_return": "return a if c else b as if c: return a, then return b",
    "ternary": "if c: return a, then return b, as return a if c else b",
    "if_none": "if ax is None: ax = e as ax = e if ax is None else ax",
    "split_check": "if a or b: raise E as two checks",
    "merge_checks": "two consecutive checks that raise as one with or",
    "check_order": "two consecutive checks that raise in the other order",
    "helper": "a function's leading checks moved into a helper function",
    "loop": "a list or dict comprehension as a loop filling it",
    "comprehension": "a loop filling a list or dict as a comprehension",
    "items": "for k, v in d.items() as for k in d: v = d[k]",
    "unpack": "a, b = x, y as two assignments",
    "augmented": "x -= y as x = x - y",
    "reorder": "two adjacent independent statements swapped",
}
_REDUCTIONS = ("sum", "max", "min", "mean", "any", "all")
_MODULES = frozenset({"np", "math", "torch", "plt", "scipy", "itertools"})
_PLOT_CALLS = frozenset({"plot", "scatter", "contour", "loglog", "semilogy", "subplots",
                         "legend", "figure"})
_PLOT_STYLE = frozenset({"marker", "markersize", "alpha", "linewidth", "linewidths", "cmap",
                         "colors", "figsize", "s", "loc"})
_ORDER = {ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE, ast.GtE: ast.LtE}
_NEGATION = {ast.Lt: ast.GtE, ast.Gt: ast.LtE, ast.LtE: ast.Gt, ast.GtE: ast.Lt}


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


def _dotted(path: str) -> ast.expr:
    """``np.linalg.norm`` as an expression."""
    first, *rest = path.split(".")
    node: ast.expr = ast.Name(first, ast.Load())
    for part in rest:
        node = ast.Attribute(node, part, ast.Load())
    return node


def _called(node: ast.AST) -> str:
    """The dotted name a call calls (``np.linalg.norm``), or ""."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
        return ast.unparse(node.func)
    return ""


def _is_array_expression(node: ast.AST) -> bool:
    """An expression that is surely a NumPy array: arithmetic or a NumPy call."""
    return isinstance(node, ast.BinOp) or _called(node).startswith("np.")


def _raises(statement: ast.stmt) -> bool:
    """``if condition: raise ...`` (a check)."""
    return (isinstance(statement, ast.If) and not statement.orelse and len(statement.body) == 1
            and isinstance(statement.body[0], ast.Raise))


def _effects(statement: ast.stmt) -> tuple[set[str], set[str]]:
    """The names a simple statement reads and writes; a method call writes its object
    (``ax.plot``), except a setter (``ax.set_xlabel`` writes only ``ax.set_xlabel``)."""
    reads: set[str] = set()
    writes: set[str] = set()
    for node in ast.walk(statement):
        if isinstance(node, ast.Name):
            (reads if isinstance(node.ctx, ast.Load) else writes).add(node.id)
        elif isinstance(node, ast.Subscript | ast.Attribute) \
                and isinstance(node.ctx, ast.Store | ast.Del):
            base = node
            while isinstance(base, ast.Subscript | ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name):
                writes.add(base.id)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            base = node.func.value
            while isinstance(base, ast.Subscript | ast.Attribute):
                base = base.value
            if isinstance(base, ast.Name) and base.id not in _MODULES:
                setter = node.func.attr.startswith("set_")
                writes.add(f"{base.id}.{node.func.attr}" if setter else base.id)
    return reads, writes


def _method_call(node: ast.AST) -> bool:
    """A call of a method that may change objects (not a module's function, not a setter)."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    base = node.func.value
    while isinstance(base, ast.Subscript | ast.Attribute):
        base = base.value
    return not (isinstance(base, ast.Name) and base.id in _MODULES) \
        and not node.func.attr.startswith("set_")


def _independent(first: ast.stmt, second: ast.stmt) -> bool:
    """Two simple statements (assignments, calls) that can run in either order. A statement
    that stores into an item or attribute never moves: the object may be a view of another
    (``flat = x.reshape(-1)``; ``flat[i] = v`` changes ``x``); nor does one that calls a
    method other than a setter (``loss.backward()`` fills ``x.grad``)."""
    simple = (ast.Assign, ast.AugAssign, ast.Expr)
    if not (isinstance(first, simple) and isinstance(second, simple)) or any(
            isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant)
            for s in (first, second)):  # a docstring stays first
        return False
    if any(isinstance(node, ast.Subscript | ast.Attribute)
           and isinstance(node.ctx, ast.Store | ast.Del)
           for s in (first, second) for node in ast.walk(s)):
        return False
    if any(_method_call(node) for s in (first, second) for node in ast.walk(s)):
        return False
    reads1, writes1 = _effects(first)
    reads2, writes2 = _effects(second)
    return not (writes1 & (reads2 | writes2) or writes2 & reads1)


class _Restyle(ast.NodeTransformer):
    """One honest student's rewrites of one cell (see :data:`REWRITES`)."""

    def __init__(self, rng: random.Random, habits: Mapping[str, float]) -> None:
        self.rng, self.habits = rng, habits
        self.counter = 0
        self.torch = False  # in code that uses torch: NumPy rewrites would break autograd

    def _go(self, kind: str) -> bool:
        return self.rng.random() < self.habits.get(kind, 0.0)

    def _temp(self) -> str:
        self.counter += 1
        return f"{self.rng.choice(WORDS)}{self.counter}"

    # Expressions.

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Mult) and self._go("commute"):
            node.left, node.right = node.right, node.left
        elif isinstance(node.op, ast.Pow) and isinstance(node.right, ast.Constant) \
                and node.right.value == 2 \
                and isinstance(node.left, ast.Name | ast.Attribute | ast.Subscript) \
                and self._go("square"):
            return ast.BinOp(node.left, ast.Mult(), copy.deepcopy(node.left))
        elif isinstance(node.op, ast.MatMult) and not self.torch and self._go("matmul"):
            return ast.Call(_dotted(self.rng.choice(["np.dot", "np.matmul"])),
                            [node.left, node.right], [])
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        if len(node.ops) == 1 and type(node.ops[0]) in _ORDER and self._go("flip"):
            return ast.Compare(node.comparators[0], [_ORDER[type(node.ops[0])]()], [node.left])
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: C901 (one rewrite per branch)
        self.generic_visit(node)
        called = _called(node)
        func = node.func
        numpy = not self.torch
        if called == "range" and len(node.args) == 1 and self._go("range0"):
            node.args.insert(0, ast.Constant(0))
        elif called == "np.asarray" and numpy and self._go("asarray"):
            dtype = [k.value for k in node.keywords if k.arg == "dtype"]
            form = self.rng.choice(["array", "positional", "astype"]
                                   if dtype and len(node.args) == 1 else ["array"])
            if form == "array":
                node.func = _dotted("np.array")
            else:
                node.keywords = [k for k in node.keywords if k.arg != "dtype"]
                if form == "positional":
                    node.args.append(dtype[0])
                else:
                    return ast.Call(ast.Attribute(node, "astype", ast.Load()), dtype, [])
        elif called == "np.sqrt" and len(node.args) == 1 and not node.keywords \
                and self._go("sqrt"):
            return ast.BinOp(node.args[0], ast.Pow(), ast.Constant(0.5))
        elif called == "np.linalg.norm" and len(node.args) == 1 and numpy \
                and all(k.arg == "axis" for k in node.keywords) and self._go("norm"):
            squares = ast.Call(_dotted("np.square"), node.args, [])
            return ast.Call(_dotted("np.sqrt"),
                            [ast.Call(_dotted("np.sum"), [squares], node.keywords)], [])
        elif called == "np.dot" and len(node.args) == 2 and self._go("matmul"):
            return ast.BinOp(node.args[0], ast.MatMult(), node.args[1])
        elif called in {f"np.{r}" for r in _REDUCTIONS} and len(node.args) == 1 and numpy \
                and _is_array_expression(node.args[0]) and self._go("function"):
            return ast.Call(ast.Attribute(node.args[0], called[3:], ast.Load()), [],
                            node.keywords)
        elif isinstance(func, ast.Attribute) and func.attr in _REDUCTIONS and not node.args \
                and numpy and not (isinstance(func.value, ast.Name)
                                   and func.value.id in _MODULES) \
                and self._go("method"):
            return ast.Call(_dotted(f"np.{func.attr}"), [func.value], node.keywords)
        if isinstance(func, ast.Attribute) and func.attr in _PLOT_CALLS:
            node.keywords = [k for k in node.keywords
                             if k.arg not in _PLOT_STYLE or not self._go("plot_style")]
        if len(node.keywords) > 1 and self._go("keywords"):
            self.rng.shuffle(node.keywords)
        return node

    # Statements.

    def body(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        """A list of statements restyled: each statement, then adjacent pairs."""
        out: list[ast.stmt] = []
        for statement in statements:
            out.extend(self._statement(statement))
        return self._adjacent(out)

    def _children(self, statement: ast.stmt) -> None:
        """Restyle a statement's expressions and nested bodies in place."""
        for name, value in ast.iter_fields(statement):
            if name in ("body", "orelse", "finalbody") and isinstance(value, list):
                setattr(statement, name, self.body(value))
            elif name == "handlers":
                for handler in value:
                    handler.body = self.body(handler.body)
            elif isinstance(value, ast.AST):
                setattr(statement, name, self.visit(value))
            elif isinstance(value, list):
                setattr(statement, name, [self.visit(v) if isinstance(v, ast.AST) else v
                                          for v in value])

    def _statement(self, statement: ast.stmt) -> list[ast.stmt]:  # noqa: C901
        torch = self.torch
        if isinstance(statement, ast.FunctionDef):
            self.torch = torch or any(isinstance(n, ast.Name) and n.id == "torch"
                                      for n in ast.walk(statement))
        self._children(statement)
        self.torch = torch
        go = self._go
        if isinstance(statement, ast.Return) and isinstance(statement.value, ast.IfExp) \
                and go("early_return"):
            value = statement.value
            return [ast.If(value.test, [ast.Return(value.body)], []), ast.Return(value.orelse)]
        if isinstance(statement, ast.Return) and statement.value is not None \
                and not isinstance(statement.value, ast.Name | ast.Constant) \
                and go("name_result"):
            name = self._temp()
            return [ast.Assign([ast.Name(name, ast.Store())], statement.value),
                    ast.Return(ast.Name(name, ast.Load()))]
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
            inner = [a for a in statement.value.args if isinstance(a, ast.Call)]
            if inner and go("name_argument"):
                name = self._temp()
                index = statement.value.args.index(inner[0])
                statement.value.args[index] = ast.Name(name, ast.Load())
                return [ast.Assign([ast.Name(name, ast.Store())], inner[0]), statement]
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Name) \
                and isinstance(statement.value, ast.ListComp | ast.DictComp) \
                and len(statement.value.generators) == 1 \
                and not statement.value.generators[0].is_async and go("loop"):
            return self._loop(statement.targets[0].id, statement.value)
        if isinstance(statement, ast.AugAssign) and go("augmented"):
            load = copy.deepcopy(statement.target)
            for node in ast.walk(load):
                if hasattr(node, "ctx"):
                    node.ctx = ast.Load()
            return [ast.Assign([statement.target], ast.BinOp(load, statement.op,
                                                             statement.value))]
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 \
                and isinstance(statement.targets[0], ast.Tuple) \
                and isinstance(statement.value, ast.Tuple) \
                and len(statement.targets[0].elts) == len(statement.value.elts) \
                and all(isinstance(t, ast.Name) for t in statement.targets[0].elts) \
                and not ({t.id for t in statement.targets[0].elts}
                         & _effects(ast.Expr(statement.value))[0]) and go("unpack"):
            return [ast.Assign([t], v) for t, v in zip(statement.targets[0].elts,
                                                       statement.value.elts, strict=True)]
        if isinstance(statement, ast.If):
            return self._if(statement)
        if isinstance(statement, ast.For) and isinstance(statement.target, ast.Tuple) \
                and len(statement.target.elts) == 2 \
                and all(isinstance(t, ast.Name) for t in statement.target.elts) \
                and _called(statement.iter).endswith(".items") \
                and not statement.iter.args and go("items"):
            key, value = statement.target.elts
            mapping = statement.iter.func.value
            statement.target, statement.iter = key, mapping
            lookup = ast.Subscript(copy.deepcopy(mapping), ast.Name(key.id, ast.Load()),
                                   ast.Load())
            statement.body.insert(0, ast.Assign([value], lookup))
        return [statement]

    def _if(self, statement: ast.If) -> list[ast.stmt]:
        test, body = statement.test, statement.body
        if _raises(statement) and isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or) \
                and self._go("split_check"):
            return [ast.If(value, copy.deepcopy(body), []) for value in test.values]
        if isinstance(test, ast.Compare) and len(test.ops) == 1 \
                and type(test.ops[0]) in _NEGATION and self._go("negate"):
            statement.test = ast.UnaryOp(ast.Not(), ast.Compare(
                test.left, [_NEGATION[type(test.ops[0])]()], test.comparators))
        elif not statement.orelse and len(body) == 1 and isinstance(body[0], ast.Assign) \
                and len(body[0].targets) == 1 and isinstance(test, ast.Compare) \
                and isinstance(test.ops[0], ast.Is) and isinstance(test.left, ast.Name) \
                and isinstance(test.comparators[0], ast.Constant) \
                and test.comparators[0].value is None \
                and self._go("if_none"):
            return self._if_none(test, body[0])
        return [statement]

    def _if_none(self, test: ast.Compare, assign: ast.Assign) -> list[ast.stmt]:
        """``if ax is None: _, ax = e`` as ``ax = e[1] if ax is None else ax``."""
        name, target, value = test.left.id, assign.targets[0], assign.value
        if isinstance(target, ast.Tuple):
            names = [t.id if isinstance(t, ast.Name) else "" for t in target.elts]
            if name not in names:
                return [ast.If(test, [assign], [])]
            value = ast.Subscript(value, ast.Constant(names.index(name)), ast.Load())
        elif not (isinstance(target, ast.Name) and target.id == name):
            return [ast.If(test, [assign], [])]
        return [ast.Assign([ast.Name(name, ast.Store())],
                           ast.IfExp(test, value, ast.Name(name, ast.Load())))]

    @staticmethod
    def _loop(target: str, value: ast.ListComp | ast.DictComp) -> list[ast.stmt]:
        """``t = [e for x in xs if c]`` as ``t = []`` and a loop appending ``e``."""
        generator = value.generators[0]
        if isinstance(value, ast.ListComp):
            start: ast.expr = ast.List([], ast.Load())
            fill: ast.stmt = ast.Expr(ast.Call(ast.Attribute(ast.Name(target, ast.Load()),
                                                             "append", ast.Load()),
                                               [value.elt], []))
        else:
            start = ast.Dict([], [])
            fill = ast.Assign([ast.Subscript(ast.Name(target, ast.Load()), value.key,
                                             ast.Store())], value.value)
        for condition in reversed(generator.ifs):
            fill = ast.If(condition, [fill], [])
        return [ast.Assign([ast.Name(target, ast.Store())], start),
                ast.For(generator.target, generator.iter, [fill], [])]

    def _adjacent(self, statements: list[ast.stmt]) -> list[ast.stmt]:  # noqa: C901
        """Rewrites of two adjacent statements: checks merged or swapped, a trailing early
        return as a conditional expression, a filling loop as a comprehension, two
        independent statements swapped."""
        out: list[ast.stmt] = []
        index = 0
        while index < len(statements):
            first = statements[index]
            second = statements[index + 1] if index + 1 < len(statements) else None
            if second is None:
                out.append(first)
                break
            merged = self._pair(first, second, last=index + 2 == len(statements))
            if merged is not None:
                out.extend(merged)
                index += 2
            else:
                out.append(first)
                index += 1
        return out

    def _pair(self, first: ast.stmt, second: ast.stmt, last: bool) -> list[ast.stmt] | None:
        """``first`` and ``second`` rewritten together, or None where no rewrite applies."""
        go = self._go
        if _raises(first) and _raises(second):
            if go("merge_checks"):
                return [ast.If(ast.BoolOp(ast.Or(), [first.test, second.test]), first.body,
                               [])]
            if go("check_order"):
                return [second, first]
        if last and isinstance(first, ast.If) and not first.orelse and len(first.body) == 1 \
                and isinstance(first.body[0], ast.Return) and first.body[0].value is not None \
                and isinstance(second, ast.Return) and second.value is not None \
                and go("ternary"):
            return [ast.Return(ast.IfExp(first.test, first.body[0].value, second.value))]
        comprehension = self._comprehension(first, second)
        if comprehension is not None and go("comprehension"):
            return [comprehension]
        if _independent(first, second) and go("reorder"):
            return [second, first]
        return None

    @staticmethod
    def _comprehension(first: ast.stmt, second: ast.stmt) -> ast.stmt | None:
        """``t = []`` and ``for x in xs: t.append(e)`` as ``t = [e for x in xs]`` (also for a
        dict filled by ``t[k] = v``), or None."""
        if not (isinstance(first, ast.Assign) and len(first.targets) == 1
                and isinstance(first.targets[0], ast.Name)
                and isinstance(first.value, ast.List | ast.Dict)
                and not getattr(first.value, "elts", getattr(first.value, "keys", None))
                and isinstance(second, ast.For) and not second.orelse
                and len(second.body) == 1):
            return None
        name, fill = first.targets[0].id, second.body[0]
        generator = ast.comprehension(second.target, second.iter, [], 0)
        if isinstance(first.value, ast.List) and isinstance(fill, ast.Expr) \
                and _called(fill.value) == f"{name}.append" and len(fill.value.args) == 1:
            value: ast.expr = ast.ListComp(fill.value.args[0], [generator])
        elif isinstance(first.value, ast.Dict) and isinstance(fill, ast.Assign) \
                and len(fill.targets) == 1 and isinstance(fill.targets[0], ast.Subscript) \
                and isinstance(fill.targets[0].value, ast.Name) \
                and fill.targets[0].value.id == name:
            value = ast.DictComp(fill.targets[0].slice, fill.value, [generator])
        else:
            return None
        if name in _effects(ast.Expr(value))[0]:
            return None
        return ast.Assign([ast.Name(name, ast.Store())], value)

    def module(self, tree: ast.Module) -> ast.Module:
        """A cell restyled, its functions' leading checks moved to a helper by habit."""
        body = []
        for statement in self.body(tree.body):
            if isinstance(statement, ast.FunctionDef) and not statement.name.startswith("_") \
                    and self._go("helper"):
                body.extend(_check_helper(statement))
            else:
                body.append(statement)
        tree.body = body
        return tree


def _check_helper(function: ast.FunctionDef) -> list[ast.stmt]:
    """``function``'s leading checks (and the parameter conversions among them) moved into a
    helper ``_check_<name>`` defined before it, or ``[function]`` when it starts otherwise."""
    params = [a.arg for a in function.args.args]
    start = 1 if function.body and isinstance(function.body[0], ast.Expr) \
        and isinstance(function.body[0].value, ast.Constant) else 0
    end = start
    for index, statement in enumerate(function.body[start:], start):
        converts = isinstance(statement, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id in params for t in statement.targets)
        if _raises(statement):
            end = index + 1
        elif not converts:
            break
    checks = function.body[start:end]
    if not any(_raises(s) for s in checks):
        return [function]
    used = set().union(*(_effects(s)[0] for s in checks))
    arguments = [p for p in params if p in used]
    converted = [t.id for s in checks if isinstance(s, ast.Assign) for t in s.targets]
    converted = list(dict.fromkeys(converted))
    helper_body = list(checks)
    if converted:
        helper_body.append(ast.Return(ast.Name(converted[0], ast.Load()) if len(converted) == 1
                                      else ast.Tuple([ast.Name(c, ast.Load())
                                                      for c in converted], ast.Load())))
    name = f"_check_{function.name}"
    helper = ast.FunctionDef(name=name, args=ast.arguments(
        posonlyargs=[], args=[ast.arg(a) for a in arguments], kwonlyargs=[], kw_defaults=[],
        defaults=[]), body=helper_body, decorator_list=[])
    call = ast.Call(ast.Name(name, ast.Load()), [ast.Name(a, ast.Load()) for a in arguments],
                    [])
    if not converted:
        use: ast.stmt = ast.Expr(call)
    elif len(converted) == 1:
        use = ast.Assign([ast.Name(converted[0], ast.Store())], call)
    else:
        use = ast.Assign([ast.Tuple([ast.Name(c, ast.Store()) for c in converted],
                                    ast.Store())], call)
    function.body[start:end] = [use]
    return [helper, function]


def draw_habits(rng: random.Random, style: float = 1.0) -> dict[str, float]:
    """An honest student's habits: for each rewrite, a rate drawn from [0, ``style``]."""
    return {kind: style * rng.random() for kind in REWRITES}


def restyle(source: str, rng: random.Random, habits: Mapping[str, float]) -> str:
    """An honest student's own way of writing ``source`` (see the module docstring)."""
    if not any(habits.values()):
        return source
    tree = _Restyle(rng, habits).module(ast.parse(source))
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
    """Each cell's top-level functions shuffled, and one function of a cell with more than
    one statement moved to the end of another cell (copying by cells, then tidying; other
    statements stay where they run)."""
    cells, crowded = [], []
    for index, source in enumerate(sources):
        tree = ast.parse(source)
        definitions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        others = [n for n in tree.body if not isinstance(n, ast.FunctionDef)]
        rng.shuffle(definitions)
        cells.append([ast.unparse(n) for n in definitions] + [ast.unparse(n) for n in others])
        if definitions and len(tree.body) > 1:  # a function to move, and a cell left behind
            crowded.append(index)
    if crowded and len(cells) > 1:
        source = rng.choice(crowded)
        target = rng.choice([i for i in range(len(cells)) if i != source])
        cells[target].append(cells[source].pop(0))
    return ["\n\n\n".join(parts) for parts in cells]


@dataclass(frozen=True)
class Student:
    """A simulated student's hand-in: who, and whom they copied (if anyone): all their
    tasks but ``own`` of them."""

    student_id: str
    copied_from: str | None = None
    own: int = 0


def rename_helpers(sources: list[str], keep: set[str], rng: random.Random) -> list[str]:
    """Every top-level function not in ``keep`` renamed the same way in every cell (a helper
    may be called from another cell than its own)."""
    trees = [ast.parse(s) for s in sources]
    helpers = sorted({n.name for t in trees for n in t.body if isinstance(n, ast.FunctionDef)}
                     - keep)
    taken = keep | {n.id for t in trees for n in ast.walk(t) if isinstance(n, ast.Name)}
    names = {}
    for helper in helpers:
        name = helper
        while name in taken:
            name = f"{rng.choice(WORDS)}_{rng.randint(1, 99)}"
        taken.add(name)
        names[helper] = name
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                node.id = names.get(node.id, node.id)
            elif isinstance(node, ast.FunctionDef):
                node.name = names.get(node.name, node.name)
    return [ast.unparse(t) for t in trees]


def personalise(sources: list[str], keep: set[str], rng: random.Random) -> list[str]:
    """Cosmetic changes only: names, comments, prints, numbers."""
    sources = rename_helpers(sources, keep, rng)
    helpers = {n.name for s in sources for n in ast.parse(s).body
               if isinstance(n, ast.FunctionDef)}
    return [add_comments_and_prints(change_numbers(rename_variables(s, keep | helpers, rng),
                                                   rng), rng)
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
        # Each variant's answer cells, the starting points an honest student draws from.
        self.cells = [[c.source for c in build_submission(self.source_nb, self.release_nb,
                                                          v).cells if _is_answer(c)]
                      for v in self.variants]
        self.rng = random.Random(seed)
        self.answers: dict[str, list[str]] = {}  # student -> answer cells as handed in
        release = course / "release" / assignment / f"{assignment}.ipynb"
        release.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(self.release_nb, release)

    def write(self, student: str, sources: Sequence[str]) -> None:
        """Hand in ``sources`` as ``student``'s answer cells."""
        notebook = copy.deepcopy(self.release_nb)
        for cell, source in zip((c for c in notebook.cells if _is_answer(c)), sources,
                                strict=True):
            cell.source = source
        target = self.course / "submitted" / student / self.assignment / \
            f"{self.assignment}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        self.answers[student] = list(sources)

    def harness(self, student: str, variant: Variant) -> Student:
        """A student handing in the harness's ``variant`` as written, with their own names,
        comments, prints and numbers."""
        sources = self.cells[self.variants.index(variant)]
        self.write(student, personalise(sources, self.keep, self.rng))
        return Student(student)

    def own_work(self, style: float = 1.0) -> list[str]:
        """The answer cells of a new honest student, before cosmetics (module docstring)."""
        habits = draw_habits(self.rng, style)
        picks = [0 if self.rng.random() < 0.5 else self.rng.randrange(len(self.variants))
                 for _ in self.cells[0]]
        return [restyle(self.cells[pick][task], self.rng, habits)
                for task, pick in enumerate(picks)]

    def honest(self, student: str, style: float = 1.0) -> Student:
        """An honest student (module docstring)."""
        self.write(student, personalise(self.own_work(style), self.keep, self.rng))
        return Student(student)

    def copier(self, student: str, original: Student, own: int = 0) -> Student:
        """A student who copied ``original``'s answer cells and disguised them, except
        ``own`` tasks (drawn at random) that they wrote themselves."""
        sources = list(self.answers[original.student_id])
        if own:
            written = self.own_work()
            for task in self.rng.sample(range(len(sources)), own):
                sources[task] = written[task]
        self.write(student, disguise(sources, self.keep, self.rng))
        return Student(student, copied_from=original.student_id, own=own)

    def build(self, n_honest: int, n_copied: int, rings: int = 0, partial: int = 0,
              style: float = 1.0) -> list[Student]:
        """``n_honest`` honest students, then copies of ``n_copied`` of them chosen at
        random: ``rings`` of those are copied twice (clusters of three), and ``partial`` of
        the copiers write one task themselves."""
        students = [self.honest(f"h{i:05d}", style) for i in range(n_honest)]
        originals = self.rng.sample(students, n_copied)
        copies: list[Student] = []
        for index, original in enumerate(originals):
            for _ in range(2 if index < rings else 1):
                own = 1 if len(copies) < partial else 0
                copies.append(self.copier(f"c{len(copies):05d}", original, own))
        return students + copies


def copy_truth(students: Iterable[Student]) -> set[frozenset[str]]:
    """The pairs that share code by copying: each copier with the original and with every
    other copier of the same original."""
    groups: dict[str, set[str]] = {}
    for student in students:
        if student.copied_from:
            groups.setdefault(student.copied_from, {student.copied_from}).add(student.student_id)
    return {frozenset((a, b)) for group in groups.values() for a in group for b in group
            if a < b}


@dataclass(frozen=True)
class Coincidence:
    """How often two honest students hand in the same normalised code: per task (answer
    cell label -> share of pairs) and for the whole notebook (share of pairs)."""

    tasks: dict[str, float]
    notebook: float


def coincidence(builder: ClassBuilder, students: Iterable[str]) -> Coincidence:
    """The shares of pairs of ``students`` whose normalised answer code is identical, per
    task and for the whole notebook (as the report normalises it)."""
    release = Release(builder.release_nb)
    labels = [c.metadata["nbgrader"]["grade_id"] for c in builder.release_nb.cells
              if _is_answer(c)]
    per_task: list[Counter[str]] = [Counter() for _ in labels]
    whole: Counter[str] = Counter()
    count = 0
    for student in students:
        cells = [Cell(label, source) for label, source in zip(labels, builder.answers[student],
                                                              strict=True)]
        for task, cell in enumerate(cells):
            per_task[task][normalise([cell], release).text] += 1
        whole[normalise(cells, release).text] += 1
        count += 1
    pairs = math.comb(count, 2) or 1

    def share(counter: Counter[str]) -> float:
        return sum(math.comb(m, 2) for m in counter.values()) / pairs

    return Coincidence({label: share(c) for label, c in zip(labels, per_task, strict=True)},
                       share(whole))
