"""``dlmath similarity``: which submissions of an assignment share too much code.

The method is MOSS's (Schleimer, Wilkerson and Aiken, *Winnowing: local algorithms for
document fingerprinting*, SIGMOD 2003), with copydetect's implementation of the winnowing:

1. **What is compared.** Every code cell a student handed in, except cells identical to one
   of the release notebook's (the given code and the tests, unchanged). Answer cells are
   found by content rather than by nbgrader's metadata, which the student can edit.
2. **Normalised** with :mod:`ast`, so that what is cosmetic cannot hide a copy: comments,
   docstrings, blank lines, ``print`` calls, bare display expressions, ``pass`` and type
   annotations are dropped; the student's own names become ``v0, v1, ...`` in order of first
   use within each top-level definition (``g`` for their helper functions), while the names
   the assignment prescribes (those of the release notebook), builtins and imported modules
   (spelled out: ``np.dot`` is ``numpy.dot``) stay; every number becomes ``#`` and every
   string ``$`` (with per-student numbers, a copy adapted to the copier's numbers stays the
   same text); ``elif`` is ``else: if``; top-level definitions are sorted by their normalised
   text, so reordering functions (also across cells) changes nothing.
3. **Fingerprints.** Every substring of K characters of the normalised text is hashed, and
   copydetect's robust winnowing keeps the smallest hash of every W consecutive ones: two
   texts sharing a passage of K + W - 1 characters share a fingerprint.
4. **Weights.** Fingerprints of the release notebook (starter code, given code, tests) are
   removed. Every other fingerprint weighs its inverse document frequency, log(n / holders):
   a passage the whole class wrote (the natural solution) weighs nothing, one of a kind the
   most. A fingerprint held by at most ``max(uncommon_count, uncommon_share * n)``
   submissions is *uncommon*.
5. **Evidence.** The same for whole top-level statements (a function, a module-level
   assignment, as normalised): one held by m of n submissions weighs log(n / m) nats, the
   surprise of finding it in another student's work. A pair's *evidence* is the weight of the
   statements both have. Two honest students who write a short task the natural way share
   statements the class has in common (weighing next to nothing); a copy shares the
   copier's whole notebook, statement for statement, and every student writes most tasks a
   little differently from everyone else, so those statements are rare.
6. **Pairs.** Candidates come from inverted indexes (pairs sharing an uncommon fingerprint or
   an uncommon statement) and from datasketch's MinHash LSH (pairs whose fingerprint sets are
   alike), so the n (n - 1) / 2 pairs are never all compared. A pair's score is the weighted
   Jaccard similarity of its fingerprints (the weight both have over the weight either has).
   It is flagged when either
   * its evidence exceeds log(n (n - 1) / 2 / ``chance_pairs``): were the students'
     statements independent, fewer than ``chance_pairs`` of the class's pairs would share that
     much by chance (a Bonferroni bound, so the bar rises with the class); or
   * it scores ``min_score`` and shares ``min_shared`` uncommon fingerprints (nearly all
     code in common, also when a copier edited every statement a little).
   Flagged pairs linked together form clusters.

Everything from a submission is untrusted: its text only ever reaches the HTML page through
the Jinja2 template's autoescaping (see :func:`render_html`).
"""

from __future__ import annotations

import ast
import builtins
import copy
import json
import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from copydetect.utils import get_copied_slices, winnow
from datasketch import MinHash, MinHashLSH
from IPython.core.inputtransformer2 import TransformerManager

from dlmath.course import CourseError, check_student_id, write_atomically
from dlmath.reports.html import render

NUMBER, STRING, HELPER = "#", "$", "g"
_BUILTINS = frozenset(dir(builtins))
# Compound statements' lists of child statements, in source order.
_BODIES = ("body", "handlers", "orelse", "finalbody")


@dataclass(frozen=True)
class Settings:
    """The detector's parameters (the README and the benchmark say how they were chosen).

    ``k``: characters per hashed substring of the normalised text (shorter shared passages are
    never seen). ``window``: winnowing window (a shared passage of ``k + window - 1``
    characters always shares a fingerprint). ``uncommon_count``, ``uncommon_share``: a
    fingerprint held by at most ``max(uncommon_count, uncommon_share * n)`` of n submissions
    is uncommon. ``min_shared``: uncommon fingerprints a flagged pair shares at least.
    ``min_score``: the weighted Jaccard similarity from which a pair is flagged.
    ``lsh_threshold``, ``num_perm``: the MinHash LSH that proposes candidate pairs (Jaccard
    similarity of fingerprint sets; permutations). ``chance_pairs``: how many of the class's
    pairs may share statements by chance, were they independent (see
    :func:`evidence_needed`).
    """

    k: int = 25
    window: int = 8
    uncommon_count: int = 8
    uncommon_share: float = 0.01
    min_shared: int = 8
    min_score: float = 0.9
    lsh_threshold: float = 0.7
    num_perm: int = 128
    chance_pairs: float = 1.0


@dataclass(frozen=True)
class Line:
    """One line of a student's cell and its mark: "rare" (a passage the pair shares that few
    others have), "shared" (another passage both have) or ""."""

    number: int
    text: str
    mark: str = ""


@dataclass(frozen=True)
class Cell:
    """A code cell a student handed in: its label (the nbgrader grade id) and its code."""

    label: str
    source: str


@dataclass
class Normalised:
    """A submission's normalised text; ``origins[i]`` is where line ``i`` came from:
    (cell index, first line, last line), lines of the cell counted from 1."""

    text: str
    origins: list[tuple[int, int, int]]
    notes: list[str] = field(default_factory=list)
    units: list[str] = field(default_factory=list)  # each top-level statement's text

    def line_starts(self) -> list[int]:
        """Offset in ``text`` of each line's first character."""
        starts, offset = [], 0
        for line in self.text.split("\n"):
            starts.append(offset)
            offset += len(line) + 1
        return starts


@dataclass
class Submission:
    """One student's work on one assignment, normalised and fingerprinted."""

    student: str
    cells: list[Cell]
    normalised: Normalised
    fingerprints: dict[int, list[int]]  # hash -> offsets of its substrings in the text
    uncommon: frozenset[int] = frozenset()  # held by few submissions (the uncommon cutoff)
    weight: float = 0.0  # the inverse document frequencies of its fingerprints, summed
    units: frozenset[str] = frozenset()  # its normalised top-level statements
    rare_units: frozenset[str] = frozenset()  # those held by few submissions


@dataclass(frozen=True)
class Pair:
    """Two submissions (``a`` < ``b``): their score, how many uncommon fingerprints
    (passages few others have) they share, and the evidence (nats) of the top-level
    statements they share."""

    a: str
    b: str
    shared: int
    score: float
    evidence: float = 0.0


@dataclass
class AssignmentReport:
    """The outcome for one assignment."""

    assignment: str
    submissions: dict[str, Submission]
    flagged: list[Pair]
    clusters: list[list[str]]
    closest_unflagged: Pair | None
    uncommon_cutoff: int
    not_compared: list[str]
    weights: dict[int, float] = field(default_factory=dict)  # fingerprint -> its IDF
    unit_weights: dict[str, float] = field(default_factory=dict)  # statement -> its IDF
    evidence_needed: float = math.inf  # a pair's evidence flags it above this


class Release:
    """What the release notebook fixes: the names the assignment prescribes, its code
    (never evidence of copying) and its cells' sources (cells handed back unchanged)."""

    def __init__(self, notebook: nbformat.NotebookNode) -> None:
        code_cells = [c for c in notebook.cells if c.cell_type == "code"]
        self.sources = {c.source.strip() for c in code_cells}
        self.solution_ids = {c.metadata.get("nbgrader", {}).get("grade_id")
                             for c in code_cells
                             if c.metadata.get("nbgrader", {}).get("solution")}
        self.names: set[str] = set()
        self.aliases: dict[str, str] = {}
        for cell in code_cells:
            tree = _parse(cell.source)
            if tree is None:
                continue
            self.aliases.update(_import_aliases(tree))
            for node in ast.walk(tree):
                if isinstance(node, ast.Name):
                    self.names.add(node.id)
                elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    self.names.add(node.name)


def _parse(source: str) -> ast.Module | None:
    """The cell's code as a tree (IPython's magics and ``!`` commands turned into calls, line
    numbers kept), or None where it is not valid Python."""
    try:
        return ast.parse(TransformerManager().transform_cell(source))
    except (SyntaxError, ValueError):  # ValueError: null bytes
        return None


def _import_aliases(tree: ast.AST) -> dict[str, str]:
    """Names bound by imports, each to the dotted name it stands for (``np`` -> ``numpy``)."""
    aliases = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for name in node.names:
                bound = name.asname or name.name.partition(".")[0]
                aliases[bound] = name.name if name.asname else bound
        elif isinstance(node, ast.ImportFrom) and node.module:
            for name in node.names:
                if name.name != "*":
                    aliases[name.asname or name.name] = f"{node.module}.{name.name}"
    return aliases


def _bound_names(node: ast.AST) -> list[str]:
    """Names a piece of code binds (assigns, parameters, loop and ``as`` targets, nested
    definitions), in order of appearance."""
    bound: list[str] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name) and isinstance(child.ctx, ast.Store | ast.Del):
            bound.append(child.id)
        elif isinstance(child, ast.arg):
            bound.append(child.arg)
        elif isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                and child is not node:
            bound.append(child.name)
        elif isinstance(child, ast.ExceptHandler) and child.name:
            bound.append(child.name)
    return bound


def _is_cosmetic(statement: ast.stmt) -> bool:
    """A statement that changes nothing the answer computes: a docstring or other bare
    constant, a displayed expression, ``print(...)``, ``pass``, an import (its names are
    spelled out where used), or an annotation without a value."""
    if isinstance(statement, ast.Pass | ast.Import | ast.ImportFrom):
        return True
    if isinstance(statement, ast.AnnAssign) and statement.value is None:
        return True
    if not isinstance(statement, ast.Expr):
        return False
    value = statement.value
    if isinstance(value, ast.Call):
        return isinstance(value.func, ast.Name) and value.func.id == "print"
    return isinstance(value, ast.Constant | ast.Name | ast.Attribute | ast.Subscript)


class _Canonicaliser(ast.NodeTransformer):
    """Rewrites one top-level statement into its normalised form (see the module docstring)."""

    def __init__(self, renames: Mapping[str, str], aliases: Mapping[str, str],
                 helpers: frozenset[str]) -> None:
        self.renames = dict(renames)
        self.aliases = aliases
        self.helpers = helpers

    def _name(self, name: str) -> str:
        if name in self.renames:
            return self.renames[name]
        if name in self.helpers:
            return HELPER
        return self.aliases.get(name, name)

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for name in _BODIES:
            statements = getattr(node, name, None)
            if isinstance(statements, list):
                setattr(node, name, [s for s in statements if not _is_cosmetic(s)])
        return super().generic_visit(node)

    def visit_Name(self, node: ast.Name) -> ast.Name:
        node.id = self._name(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.arg:
        node.arg = self._name(node.arg)
        node.annotation = None
        return node

    def _definition(self, node: ast.AST) -> ast.AST:
        node.name = self._name(node.name)
        if hasattr(node, "returns"):
            node.returns = None
        return self.generic_visit(node)

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _definition

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> ast.AST:
        if node.name:
            node.name = self._name(node.name)
        return self.generic_visit(node)

    def visit_Global(self, node: ast.Global | ast.Nonlocal) -> ast.AST:
        node.names = [self._name(n) for n in node.names]
        return node

    visit_Nonlocal = visit_Global

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        assign = ast.Assign(targets=[node.target], value=node.value)
        return self.generic_visit(ast.copy_location(assign, node))

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool) or value is None or value is Ellipsis:
            return node
        marker = STRING if isinstance(value, str | bytes) else NUMBER
        return ast.copy_location(ast.Name(id=marker, ctx=ast.Load()), node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return ast.copy_location(ast.Name(id=STRING, ctx=ast.Load()), node)


def _unit_renames(statement: ast.stmt, fixed: frozenset[str],
                  helpers: frozenset[str]) -> dict[str, str]:
    """``v0, v1, ...`` for the student's own names in one top-level statement.

    In a definition, every name it binds inside is local (renamed even where it matches a
    prescribed name: a parameter the student calls ``paths`` is still a parameter); at the
    top level, prescribed names (``paths = {...}``) and helpers keep their roles.
    """
    definition = isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    declared = {n for node in ast.walk(statement) if isinstance(node, ast.Global)
                for n in node.names}
    kept = set() if definition else {n for n in _module_targets(statement)
                                     if n in fixed or n in helpers}
    renames: dict[str, str] = {}
    for name in _bound_names(statement):
        if name not in renames and name not in declared and name not in kept:
            renames[name] = f"v{len(renames)}"
    return renames


def _module_targets(statement: ast.stmt) -> set[str]:
    """Names a top-level statement assigns as module variables (``paths = {}``, also under a
    top-level ``if`` or loop), not loop variables or names inside comprehensions."""
    names: set[str] = set()
    for node in _statements(statement):
        targets = (node.targets if isinstance(node, ast.Assign)
                   else [node.target] if isinstance(node, ast.AugAssign | ast.AnnAssign) else [])
        for target in targets:
            names.update(n.id for n in ast.walk(target)
                         if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store))
    return names


def _statements(statement: ast.AST) -> Iterable[ast.AST]:
    """``statement`` and the statements nested in its bodies, not entering definitions."""
    yield statement
    if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return
    for name in _BODIES:
        for child in getattr(statement, name, None) or []:
            yield from _statements(child)


def _header(statement: ast.AST) -> str:
    """The first line(s) of a compound statement (``def f(x):``, ``for i in r:``)."""
    shell = copy.copy(statement)
    for name in _BODIES:
        if hasattr(shell, name):
            setattr(shell, name, [])
    shell.body = [ast.Pass()]
    if isinstance(shell, ast.ExceptHandler):
        return ast.unparse(shell).rsplit("\n", 1)[0].strip()
    if isinstance(shell, ast.Try | ast.TryStar):
        return "try:"
    return ast.unparse(shell).rsplit("\n", 1)[0]


def _emit(statement: ast.AST, depth: int, cell: int,
          out: list[tuple[str, tuple[int, int, int]]]) -> None:
    """Append the normalised lines of ``statement`` with their origins to ``out``."""
    indent = "  " * depth
    children = [(name, getattr(statement, name, None)) for name in _BODIES]
    children = [(name, body) for name, body in children if isinstance(body, list)]
    if not children:
        out.append((indent + ast.unparse(statement),
                    (cell, statement.lineno, statement.end_lineno or statement.lineno)))
        return
    start = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
    out.append((indent + _header(statement), (cell, start, statement.header_end)))
    for name, body in children:
        if not body:
            continue
        if name in ("orelse", "finalbody"):
            keyword = "finally:" if name == "finalbody" else "else:"
            out.append((indent + keyword, (cell, body[0].lineno, body[0].lineno)))
        for child in body:
            _emit(child, depth + (0 if name == "handlers" else 1), cell, out)


def _mark_headers(tree: ast.AST) -> None:
    """Record where each compound statement's header ends, before docstrings are dropped."""
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and hasattr(node, "lineno"):
            node.header_end = max(node.lineno, body[0].lineno - 1)


def normalise(cells: Sequence[Cell], release: Release) -> Normalised:
    """The normalised text of a submission's cells, each line with where it came from."""
    units: list[tuple[int, ast.stmt]] = []
    plain: list[tuple[str, tuple[int, int, int]]] = []
    notes = []
    trees = []
    for index, cell in enumerate(cells):
        tree = _parse(cell.source)
        if tree is None:
            # Compared as text (comments and blank lines dropped), and said so.
            notes.append(f"{cell.label} is not valid Python: compared as text")
            for number, line in enumerate(cell.source.splitlines(), 1):
                text = " ".join(line.split("#", 1)[0].split())
                if text:
                    plain.append((text, (index, number, number)))
            continue
        _mark_headers(tree)
        trees.append(tree)
        units += [(index, s) for s in tree.body if not _is_cosmetic(s)]
    aliases = dict(release.aliases)
    for tree in trees:
        aliases.update(_import_aliases(tree))
    fixed = frozenset(release.names | _BUILTINS | set(aliases))
    helpers = frozenset(s.name for _, s in units
                        if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                        and s.name not in fixed)
    definitions, statements = [], []
    for index, statement in units:
        renames = _unit_renames(statement, fixed, helpers)
        _Canonicaliser(renames, aliases, helpers).visit(statement)
        lines: list[tuple[str, tuple[int, int, int]]] = []
        _emit(statement, 0, index, lines)
        is_definition = isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef
                                   | ast.ClassDef)
        (definitions if is_definition else statements).append(lines)
    # Independent definitions in a canonical order; other statements keep theirs.
    definitions.sort(key=lambda lines: "\n".join(text for text, _ in lines))
    ordered = [line for lines in definitions + statements for line in lines] + plain
    units = ["\n".join(text for text, _ in lines) for lines in definitions + statements]
    return Normalised("\n".join(text for text, _ in ordered), [o for _, o in ordered], notes,
                      units)


# Two polynomial hashes modulo primes below 2**31, combined into 53 bits: exact in the
# float64 buffer of copydetect's winnowing, and the same in every process and run (Python's
# own hash() of a string is salted per process).
_PRIMES, _BASES = (2_147_483_647, 2_147_483_629), (1_000_003, 999_983)


def substring_hashes(text: str, k: int) -> np.ndarray:
    """The hash of every substring of ``k`` characters of ``text``, in order (int64)."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32).astype(np.int64)
    count = len(codes) - k + 1
    if count <= 0:
        return np.empty(0, dtype=np.int64)
    parts = []
    for prime, base in zip(_PRIMES, _BASES, strict=True):
        value = np.zeros(count, dtype=np.int64)
        for j in range(k):
            value = (value * base + codes[j:j + count]) % prime
        parts.append(value)
    return (parts[0] << 22) | (parts[1] & ((1 << 22) - 1))


def fingerprint(text: str, settings: Settings) -> dict[int, list[int]]:
    """Winnowed fingerprints of ``text``: hash -> offsets of the substrings it stands for."""
    hashes = substring_hashes(text, settings.k)
    if len(hashes) == 0:
        return {}
    selected, offsets = winnow(hashes, settings.window, remove_duplicates=False)
    prints: dict[int, list[int]] = defaultdict(list)
    for value, offset in zip(selected.tolist(), offsets.tolist(), strict=True):
        prints[value].append(offset)
    return dict(prints)


def read_cells(path: Path, release: Release) -> list[Cell]:
    """The code cells of a submitted notebook that are not the release's own, labelled with
    their grade id where it is one of the assignment's answer cells ("cell N" otherwise).

    Raises ValueError for a file that is not a notebook."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError,
            AttributeError, nbformat.reader.NotJSONError) as error:
        raise ValueError(f"{path.name} is not a readable notebook ({error})") from error
    cells = []
    for number, cell in enumerate(notebook.cells, 1):
        source = cell.get("source", "")
        if cell.get("cell_type") != "code" or not isinstance(source, str) \
                or source.strip() in release.sources:
            continue
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        label = grade_id if grade_id in release.solution_ids else f"cell {number}"
        cells.append(Cell(label, source))
    return cells


def _pairs_sharing(rare: Sequence[Iterable[Hashable]]) -> set[tuple[int, int]]:
    """The pairs (i, j) whose ``rare[i]`` and ``rare[j]`` share an item (an inverted index:
    the items are uncommon fingerprints or statements, none with more holders than the
    uncommon cutoff, so the work grows with n times that cutoff, not with n squared)."""
    holders: dict[Hashable, list[int]] = defaultdict(list)
    for index, items in enumerate(rare):
        for value in items:
            holders[value].append(index)
    return {(first, second) for group in holders.values()
            for i, first in enumerate(group) for second in group[i + 1:]}


def _similar_sets(submissions: Sequence[Submission], settings: Settings) -> set[tuple[int, int]]:
    """Pairs whose fingerprint sets likely have a Jaccard similarity of at least
    ``settings.lsh_threshold``: datasketch's MinHash locality-sensitive hashing, which finds
    them without comparing every pair (a copy of work made of common code shares no uncommon
    fingerprint, but nearly all of its fingerprints)."""
    lsh = MinHashLSH(threshold=settings.lsh_threshold, num_perm=settings.num_perm)
    # Fingerprints are hashes already: MinHash takes 32 bits of each as they are.
    signatures = MinHash.bulk([list(s.fingerprints) for s in submissions],
                              num_perm=settings.num_perm, hashfunc=lambda h: h & 0xFFFFFFFF)
    pairs = set()
    for index, signature in enumerate(signatures):
        if submissions[index].fingerprints:
            pairs.update((other, index) for other in lsh.query(signature))
            lsh.insert(index, signature)
    return pairs


def _pair(first: Submission, second: Submission, weights: Mapping[int, float],
          unit_weights: Mapping[str, float]) -> Pair:
    """Score a pair: the weighted Jaccard similarity of their fingerprints, the weight of
    those both have over the weight of those either has; and the evidence of the
    statements both have."""
    shared = sum(weights[h] for h in first.fingerprints.keys() & second.fingerprints.keys())
    union = first.weight + second.weight - shared
    score = shared / union if union else 0.0
    evidence = sum(unit_weights[u] for u in first.units & second.units)
    a, b = sorted((first.student, second.student))
    return Pair(a, b, len(first.uncommon & second.uncommon), score, evidence)


def score_pairs(submissions: Sequence[Submission], weights: Mapping[int, float],
                unit_weights: Mapping[str, float], settings: Settings,
                all_pairs: bool = False) -> list[Pair]:
    """The pairs worth scoring, with their scores, most similar first.

    Candidates are the pairs that share an uncommon fingerprint or statement (inverted
    indexes) and the pairs whose fingerprint sets are alike (MinHash LSH). ``all_pairs``
    scores each of the n (n - 1) / 2 pairs instead (the naive method; the benchmark compares
    the two)."""
    if all_pairs:
        candidates = {(i, j) for i in range(len(submissions))
                      for j in range(i + 1, len(submissions))}
    else:
        candidates = (_pairs_sharing([s.uncommon for s in submissions])
                      | _pairs_sharing([s.rare_units for s in submissions])
                      | _similar_sets(submissions, settings))
    pairs = [_pair(submissions[i], submissions[j], weights, unit_weights)
             for i, j in candidates]
    return sorted((p for p in pairs if p.score > 0 or p.evidence > 0),
                  key=lambda p: (-p.score, -p.evidence, p.a, p.b))


def evidence_needed(count: int, settings: Settings) -> float:
    """The evidence (nats) above which a pair of ``count`` submissions is flagged:
    log(pairs / ``chance_pairs``). Were students' statements independent, a pair would share
    statements of that weight with probability exp(-evidence), so fewer than
    ``chance_pairs`` of the count (count - 1) / 2 pairs would by chance (Bonferroni)."""
    return math.log(max(math.comb(count, 2), 1) / settings.chance_pairs)


def is_flagged(pair: Pair, settings: Settings, needed: float) -> bool:
    """Whether a pair is flagged: its shared statements are too rare to be chance
    (``needed``: :func:`evidence_needed`), or most of its code is in common (weighted by
    rarity) with enough of it uncommon (two students who both wrote the class's natural
    solution share only common passages)."""
    return pair.evidence > needed or (pair.shared >= settings.min_shared
                                      and pair.score >= settings.min_score)


def clusters(pairs: Iterable[Pair]) -> list[list[str]]:
    """Groups of three or more students linked by flagged pairs, largest first."""
    parent: dict[str, str] = {}

    def root(student: str) -> str:
        while parent.setdefault(student, student) != student:
            parent[student] = parent[parent[student]]
            student = parent[student]
        return student

    for pair in pairs:
        parent[root(pair.a)] = root(pair.b)
    groups: dict[str, list[str]] = defaultdict(list)
    for student in parent:
        groups[root(student)].append(student)
    return sorted((sorted(g) for g in groups.values() if len(g) >= 3), key=lambda g: (-len(g), g))


def uncommon_cutoff(count: int, settings: Settings) -> int:
    """How many of ``count`` submissions may hold a fingerprint for it to count as uncommon."""
    return max(settings.uncommon_count, math.ceil(settings.uncommon_share * count))


def compare(assignment: str, cells_by_student: Mapping[str, Sequence[Cell]],
            release_notebook: nbformat.NotebookNode,
            settings: Settings = Settings()) -> AssignmentReport:
    """Compare the students' cells of one assignment (the core, without files)."""
    release = Release(release_notebook)
    boilerplate = set(substring_hashes(
        normalise([Cell("release", c.source) for c in release_notebook.cells
                   if c.cell_type == "code"], release).text, settings.k).tolist())
    submissions = []
    for student, cells in cells_by_student.items():
        normalised = normalise(cells, release)
        prints = {h: o for h, o in fingerprint(normalised.text, settings).items()
                  if h not in boilerplate}
        submissions.append(Submission(student, list(cells), normalised, prints,
                                      units=frozenset(normalised.units)))
    frequency = Counter(h for s in submissions for h in s.fingerprints)
    unit_frequency = Counter(u for s in submissions for u in s.units)
    # Inverse document frequency: a passage everyone has weighs 0, one of a kind log(n).
    weights = {h: math.log(len(submissions) / n) for h, n in frequency.items()}
    unit_weights = {u: math.log(len(submissions) / n) for u, n in unit_frequency.items()}
    cutoff = uncommon_cutoff(len(submissions), settings)
    for submission in submissions:
        submission.uncommon = frozenset(h for h in submission.fingerprints
                                        if frequency[h] <= cutoff)
        submission.rare_units = frozenset(u for u in submission.units
                                          if unit_frequency[u] <= cutoff)
        submission.weight = sum(weights[h] for h in submission.fingerprints)
    needed = evidence_needed(len(submissions), settings)
    ranked = score_pairs(submissions, weights, unit_weights, settings)
    flagged = [p for p in ranked if is_flagged(p, settings, needed)]
    closest = next((p for p in ranked if not is_flagged(p, settings, needed)), None)
    return AssignmentReport(assignment, {s.student: s for s in submissions}, flagged,
                            clusters(flagged), closest, cutoff, [], weights, unit_weights,
                            needed)


def compare_assignment(course_root: Path, assignment: str,
                       settings: Settings = Settings()) -> AssignmentReport:
    """Compare every submission of ``assignment`` in ``course_root/submitted``.

    Submissions that cannot be read (a folder that is no valid student id, no notebook, not
    a notebook) are listed in ``not_compared`` with the reason; nothing is written.
    """
    release_path = course_root / "release" / assignment / f"{assignment}.ipynb"
    if not release_path.is_file():
        raise CourseError(f"{release_path} is missing: run dlmath release first (the release "
                          "notebook tells the given code from the students' own)")
    release_notebook = nbformat.read(release_path, as_version=4)
    release = Release(release_notebook)
    cells_by_student: dict[str, list[Cell]] = {}
    not_compared = []
    submitted = course_root / "submitted"
    folders = sorted(submitted.glob(f"*/{assignment}")) if submitted.is_dir() else []
    for folder in folders:
        student = folder.parent.name
        try:
            check_student_id(student)
            notebook = folder / f"{assignment}.ipynb"
            if not notebook.is_file():
                others = sorted(p.name for p in folder.glob("*.ipynb"))
                if len(others) != 1:
                    raise ValueError(f"no {notebook.name} in {folder}")
                notebook = folder / others[0]
            cells_by_student[student] = read_cells(notebook, release)
        except (CourseError, ValueError) as error:
            not_compared.append(f"{student!r}: {error}")
    report = compare(assignment, cells_by_student, release_notebook, settings)
    report.not_compared = not_compared
    return report


def _shared_lines(submission: Submission, hashes: Iterable[int],
                  settings: Settings) -> dict[int, set[int]]:
    """Per cell index, the lines of the student's code that hold the passages of ``hashes``
    (a normalised line counts when the passages cover at least half of it)."""
    offsets = np.array([o for h in hashes for o in submission.fingerprints.get(h, [])],
                       dtype=np.int64)
    text = submission.normalised.text
    lines: dict[int, set[int]] = defaultdict(set)
    if not len(offsets):
        return lines
    covered = np.zeros(len(text) + 1, dtype=np.int64)
    for start, end in get_copied_slices(offsets, settings.k).T.astype(np.int64):
        covered[start] += 1
        covered[min(end, len(text))] -= 1
    covered = np.cumsum(covered)[:len(text)] > 0
    starts = submission.normalised.line_starts()
    for index, start in enumerate(starts):
        end = starts[index + 1] - 1 if index + 1 < len(starts) else len(text)
        if end > start and covered[start:end].sum() * 2 >= end - start:
            cell, first, last = submission.normalised.origins[index]
            lines[cell].update(range(first, last + 1))
    return lines


def side_by_side(report: AssignmentReport, pair: Pair, settings: Settings = Settings(),
                 ) -> list[tuple[str, list[tuple[str, list[Line]]]]]:
    """Both students' cells of a pair, each line marked ``rare`` where it holds passages both
    share that few others have, ``shared`` where it holds other passages both share:
    [(student, [(cell label, lines)])] for ``pair.a`` then ``pair.b``."""
    first, second = report.submissions[pair.a], report.submissions[pair.b]
    both = first.fingerprints.keys() & second.fingerprints.keys()
    rare = first.uncommon & second.uncommon
    sides = []
    for submission in (first, second):
        shared_lines = _shared_lines(submission, both, settings)
        rare_lines = _shared_lines(submission, rare, settings)
        cells = []
        for index, cell in enumerate(submission.cells):
            lines = [Line(n, text, "rare" if n in rare_lines.get(index, ())
                          else "shared" if n in shared_lines.get(index, ()) else "")
                     for n, text in enumerate(cell.source.splitlines(), 1)]
            cells.append((cell.label, lines))
        sides.append((submission.student, cells))
    return sides


def render_html(reports: Sequence[AssignmentReport], names: Mapping[str, str] | None = None,
                settings: Settings = Settings()) -> str:
    """The HTML page: per assignment, each flagged pair side by side, shared lines marked.

    Every piece of student text (code, ids, names from the roster) is autoescaped by Jinja2,
    and the page's Content-Security-Policy forbids every script and every load."""
    sections = []
    for report in reports:
        pairs = [(pair, side_by_side(report, pair, settings)) for pair in report.flagged]
        notes = sorted({(student, note) for student, s in report.submissions.items()
                        for note in s.normalised.notes})
        sections.append({"report": report, "pairs": pairs, "notes": notes})
    return render("similarity.html.j2", sections=sections, names=names or {}, settings=settings)


def write_html(path: Path, reports: Sequence[AssignmentReport],
               names: Mapping[str, str] | None = None, settings: Settings = Settings()) -> None:
    """Write the page of :func:`render_html` to ``path`` (atomically)."""
    write_atomically(path, render_html(reports, names, settings))


def percent(score: float) -> str:
    """A score as a whole percentage ("87%")."""
    return f"{round(100 * score)}%"

