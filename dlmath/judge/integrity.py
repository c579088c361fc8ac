"""Findings for the integrity report: what in a submission deserves an instructor's look.

Verdicts never depend on these (the judge decides them where student code cannot reach);
findings say what the grader saw: locked cells edited or deleted, code that tampers with
the interpreter or the grader, sandbox limits hit, kernels that died. They are stored in the
notebook's metadata (``metadata.dlmath.findings``), so they travel with the autograded
notebook under plain ``nbgrader autograde`` as well as ``dlmath grade``.
"""

from __future__ import annotations

import ast
from dataclasses import asdict, dataclass

from nbformat import NotebookNode

from dlmath.cells import grade_id

# Kinds of findings, in the order the report lists them.
KINDS = ("sandbox", "tampering", "suspicious code", "crash", "timeout", "limit", "processes",
         "output", "submission", "manual grade")


@dataclass(frozen=True)
class Finding:
    """One thing the grader noticed about a submission."""

    kind: str
    where: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind} ({self.where}): {self.detail}"


# Where findings live in a notebook's metadata: those of the sanitize step belong to this
# submission; those of execution belong to its code, and travel with an executed notebook that
# ``dlmath grade`` may reuse for another submission with the same code.
SANITIZE, EXECUTION = "findings", "execution_findings"


def findings(nb: NotebookNode) -> list[Finding]:
    """The findings recorded in ``nb``'s metadata, by the sanitize step and by execution."""
    recorded = nb.metadata.get("dlmath", {})
    return [Finding(**f) for key in (SANITIZE, EXECUTION) for f in recorded.get(key, [])
            if isinstance(f, dict) and set(f) == {"kind", "where", "detail"}]


def record(nb: NotebookNode, finding: Finding, during: str = SANITIZE) -> None:
    """Add ``finding`` to ``nb``'s metadata (once), under the step it was found ``during``."""
    recorded = nb.metadata.setdefault("dlmath", {}).setdefault(during, [])
    if asdict(finding) not in recorded:
        recorded.append(asdict(finding))


def cell_name(cell: NotebookNode, index: int) -> str:
    """How a report names a cell: its nbgrader id, or its position."""
    return grade_id(cell) or f"cell {index + 1}"


# Names whose use in an answer has no place in these exercises but is how one tampers with
# a kernel, escapes it, or lies to a grader.
_SUSPICIOUS_NAMES = {
    "get_ipython": "uses the IPython shell object",
    "__builtins__": "touches the builtins", "builtins": "touches the builtins",
    "ctypes": "uses ctypes", "gc": "uses the garbage collector's object lists",
    "__import__": "imports dynamically", "exec": "executes generated code",
    "eval": "evaluates generated code", "compile": "compiles generated code",
    "subprocess": "starts programs", "socket": "opens network connections",
    "signal": "installs signal handlers", "multiprocessing": "starts processes",
    "dlmath": "imports the grader's package",
}
_SUSPICIOUS_ATTRIBUTES = {
    "excepthook": "replaces the exception hook", "displayhook": "replaces the display hook",
    "settrace": "installs a tracer", "setprofile": "installs a profiler",
    "modules": "reaches into sys.modules", "_exit": "exits the process",
    "fork": "forks the process", "system": "runs a shell command",
    "input_transformers_post": "registers an IPython input transformer",
    "input_transformers_cleanup": "registers an IPython input transformer",
    "ast_transformers": "registers an IPython AST transformer",
    "set_custom_exc": "installs an IPython exception handler",
    "register_magic_function": "registers a magic",
    "__code__": "rewrites a function's code", "__class__": "changes an object's class",
    "f_back": "reads the caller's frame", "f_globals": "reads another frame's globals",
}
# Comparison and conversion methods that let an object pass a check it should fail.
_LYING_METHODS = {"__eq__", "__ne__", "__lt__", "__le__", "__gt__", "__ge__", "__abs__",
                  "__float__", "__bool__", "__array__", "__len__", "__instancecheck__"}


def imported_names(source: str) -> set[str]:
    """The names ``import`` statements in ``source`` bind to modules (``np`` for numpy...)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
            if isinstance(node, ast.Import) for alias in node.names}


def variant_names(source: str) -> set[str]:
    """The names ``source`` (a given cell) binds to a student's parameters, as in
    ``PROBLEM = student_parameters("ex1_ill_conditioned_gd")``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    return {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "student_parameters"
            for target in node.targets if isinstance(target, ast.Name)}


def suspicious_code(source: str, modules: set[str] = frozenset(),
                    variants: set[str] = frozenset(),
                    numbers: frozenset[str] = frozenset()) -> list[str]:
    """Sentences describing what in ``source`` looks like tampering (empty if nothing does).

    ``modules`` are names bound to modules elsewhere (``np`` by the given code); ``variants``
    names bound to the student's parameters (``PROBLEM``), of which an answer may read only
    the attributes in ``numbers``: the rest (expected results, tables) is the grader's. A
    static reading of the student's own code, done outside their process, so nothing they
    run can hide it. It is a prompt for a human look, not a verdict.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    imported_modules = set(modules) | imported_names(source)
    found: list[str] = []

    def note(node: ast.AST, text: str) -> None:
        sentence = f"line {getattr(node, 'lineno', '?')}: {text}"
        if sentence not in found:
            found.append(sentence)

    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in variants:
            parent = parents.get(node)
            if not (isinstance(parent, ast.Attribute) and parent.attr in numbers):
                used = ast.unparse(parent) if isinstance(parent, ast.Attribute) else node.id
                note(node, f"uses {used}, beyond the numbers of {node.id} (its expected "
                           "results are the grader's)")
        if isinstance(node, ast.Name) and node.id in _SUSPICIOUS_NAMES:
            note(node, _SUSPICIOUS_NAMES[node.id])
        elif isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for name in [module or "", *(a.name for a in node.names)]:
                top = name.split(".")[0]
                if top in _SUSPICIOUS_NAMES:
                    note(node, _SUSPICIOUS_NAMES[top])
        elif isinstance(node, ast.Attribute) and node.attr in _SUSPICIOUS_ATTRIBUTES:
            note(node, _SUSPICIOUS_ATTRIBUTES[node.attr])
        elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
            targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
            for target in targets:
                base = target
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(target, ast.Attribute) and isinstance(base, ast.Name) and \
                        base.id in imported_modules:
                    note(node, f"changes the module {base.id} ({ast.unparse(target)})")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("setattr", "delattr") and node.args and \
                isinstance(node.args[0], ast.Name) and node.args[0].id in imported_modules:
            note(node, f"changes the module {node.args[0].id} with {node.func.id}")
        elif isinstance(node, ast.FunctionDef) and node.name in _LYING_METHODS:
            note(node, f"defines {node.name}, which can make an object pass comparisons")
    return found


def top_level_names(source: str) -> set[str]:
    """The names a cell binds at its top level (functions, classes, assignments, imports)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name))
    return names


# How the sandbox's limits show in a cell's error output.
_LIMIT_SIGNS = (
    ("MemoryError", "", "memory limit reached"),
    ("", "File too large", "file size limit reached"),
    ("", "No space left on device", "disk limit reached"),
    ("", "Resource temporarily unavailable", "process limit reached"),
    ("", "Too many open files", "open files limit reached"),
)


def limit_hit(ename: str, evalue: str) -> str | None:
    """Which sandbox limit an error output shows, if any."""
    for name, text, what in _LIMIT_SIGNS:
        if (name and ename == name) or (text and text in evalue):
            return what
    return None
