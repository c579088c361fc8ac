"""The adversarial corpus: hostile, broken and odd submissions of exercise 1.

Each :class:`Attack` builds one student's submission (from the reference solution or a
plausible mistake of the harness, plus the attack) and states exactly what grading must
give: the test cells it loses, whether it is graded at all, and the kinds of integrity
findings it raises. ``test_attacks.py`` grades them all with the course's configuration;
``benchmarks/attack_table.py`` also grades them with plain nbgrader, for the table in the
README.

Snippets may use ``{course}`` (the course folder, as the grader sees it) and ``{marker}``
(a string unique to the run) placeholders.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from dlmath.variants import build_submission, load_variants

ASSIGNMENT = "ex1_ill_conditioned_gd"
NOTEBOOK = f"{ASSIGNMENT}.ipynb"
ALL_TESTS = frozenset({"test_gradient_descent_values", "test_gradient_descent_contract",
                       "test_paths", "test_steps_to_tolerance", "test_max_stable_lr",
                       "test_plot_paths"})
# The plausible mistake most attacks try to pass off as correct: gradient *ascent*.
ASCENT = "gd_ascent_sign"
ASCENT_LOSES = frozenset({"test_gradient_descent_values", "test_gradient_descent_contract",
                          "test_paths"})

Builder = Callable[[NotebookNode], NotebookNode | bytes | None]


@dataclass(frozen=True)
class Attack:
    """One hostile or broken submission and what grading it must give."""

    name: str
    tries: str
    build: Builder
    base: str = "reference"
    loses: frozenset[str] = frozenset()
    graded: bool = True
    error: str = ""
    findings: frozenset[str] = frozenset()
    # Findings that may come on top, depending on timing: a kernel out of memory or flooded
    # by forked copies of itself may also die (and be restarted).
    may_also: frozenset[str] = frozenset()
    plain: str = ""
    files: dict[str, bytes] = field(default_factory=dict)
    notebook_name: str = NOTEBOOK


def cell(nb: NotebookNode, grade_id: str) -> NotebookNode:
    """The cell with nbgrader id ``grade_id``."""
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def append(grade_id: str, code: str) -> Builder:
    """Add ``code`` at the end of the answer cell ``grade_id``."""
    def build(nb: NotebookNode) -> NotebookNode:
        cell(nb, grade_id).source += "\n" + code
        return nb
    return build


def new_cell(after: str, code: str) -> Builder:
    """Insert a cell of the student's own with ``code`` after the cell ``after``."""
    def build(nb: NotebookNode) -> NotebookNode:
        index = nb.cells.index(cell(nb, after))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(code))
        return nb
    return build


def change(edit: Callable[[NotebookNode], None]) -> Builder:
    """Apply ``edit`` to the notebook."""
    def build(nb: NotebookNode) -> NotebookNode:
        edit(nb)
        return nb
    return build


def _delete(grade_id: str) -> Callable[[NotebookNode], None]:
    return lambda nb: nb.cells.remove(cell(nb, grade_id))


def _tests_first(nb: NotebookNode) -> None:
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") in ALL_TESTS]
    nb.cells = tests + [c for c in nb.cells if c not in tests]


def _duplicate_ids(nb: NotebookNode) -> None:
    for c in nb.cells[:4]:
        c["id"] = "same-id"


def _as_v3(nb: NotebookNode) -> bytes:
    return nbformat.writes(nbformat.convert(nb, 3)).encode()


SWALLOW_ERRORS = """
import ast
class SwallowErrors(ast.NodeTransformer):
    def visit_Module(self, node):
        handler = ast.ExceptHandler(type=ast.Name("BaseException", ast.Load()), name=None, body=[ast.Pass()])
        node.body = [ast.Try(body=node.body or [ast.Pass()], handlers=[handler], orelse=[], finalbody=[])]
        return ast.fix_missing_locations(node)
get_ipython().ast_transformers.append(SwallowErrors())
"""

READ_SECRETS = """
import glob, os
for pattern in ["{course}/gradebook.db", "{course}/source/*/*.ipynb", "{course}/submitted/*/*/*.ipynb",
                "/root/*", os.path.expanduser("~/../*/.ssh/*"), "/etc/shadow"]:
    for path in glob.glob(pattern):
        try:
            print("LEAKED", path, open(path, "rb").read(40))
        except OSError:
            pass
"""

STACK_SPY = """
_seen_by_spy = []
def steps_to_tolerance(path, tol=1e-6):
    import inspect
    for frame in inspect.stack():
        _seen_by_spy.append(str(frame.code_context) + repr(sorted(frame.frame.f_globals))[:2000])
    norms = np.linalg.norm(np.asarray(path, dtype=float), axis=1)
    below = np.flatnonzero(norms < tol)
    return int(below[0]) if below.size else None
"""

ATTACKS = [
    # --- the grader's own code and data ---------------------------------------------------
    Attack("patch_numpy", "replace np.allclose/np.isclose so every comparison passes",
           append("answer_gradient_descent", "np.allclose = lambda *a, **k: True\n"
                  "np.isclose = lambda a, b, **k: np.ones(np.shape(a), dtype=bool)"),
           # The student's own max_stable_lr then accepts a non-symmetric H: it loses that too.
           base=ASCENT, loses=ASCENT_LOSES | {"test_max_stable_lr"},
           findings=frozenset({"suspicious code", "tampering"}),
           plain="a wrong answer scores full marks"),
    Attack("patch_checks", "replace the test helpers in dlmath.checks with no-ops",
           append("answer_gradient_descent", "import dlmath.checks\n"
                  "dlmath.checks.check_array = lambda *a, **k: None\n"
                  "dlmath.checks.fail = lambda *a, **k: None"),
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"suspicious code"}),
           plain="a wrong answer scores full marks"),
    Attack("patch_builtins", "replace abs and round in the builtins",
           append("answer_gradient_descent", "import builtins\n"
                  "builtins.abs = lambda x: 0.0\nbuiltins.round = lambda x, *a: 0"),
           # Only the student's own code suffers: np.isclose (in their max_stable_lr) calls abs,
           # matplotlib's tick labels (in their plot) call round.
           base=ASCENT, loses=ASCENT_LOSES | {"test_max_stable_lr", "test_plot_paths"},
           findings=frozenset({"suspicious code", "tampering"}),
           plain="breaks or passes checks at random"),
    Attack("ast_transformer", "an AST transformer that wraps every cell in try/except",
           append("answer_gradient_descent", SWALLOW_ERRORS), base=ASCENT, loses=ASCENT_LOSES,
           findings=frozenset({"suspicious code", "tampering"}),
           plain="a wrong answer scores full marks"),
    Attack("input_transformer", "an input transformer that blanks every test cell",
           append("answer_gradient_descent",
                  "get_ipython().input_transformers_post.append(\n"
                  "    lambda lines: [] if any('check_' in line for line in lines) else lines)"),
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"suspicious code", "tampering"}),
           plain="a wrong answer scores full marks"),
    Attack("custom_exception_handler", "an IPython exception handler that hides failures",
           append("answer_gradient_descent",
                  "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)"),
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"suspicious code", "tampering"}),
           plain="a wrong answer scores full marks"),
    Attack("excepthook", "replace sys.excepthook and sys.displayhook",
           append("answer_gradient_descent", "import sys\nsys.excepthook = lambda *a: None\n"
                  "sys.displayhook = lambda *a: None"),
           # IPython puts its own hooks back around every cell: only the code shows it.
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"suspicious code"}),
           plain="no effect on IPython's own error display"),
    Attack("lying_object", "return an object whose comparisons and conversions lie",
           append("answer_max_stable_lr",
                  "class Always:\n"
                  "    def __eq__(self, other): return True\n"
                  "    def __float__(self): return 0.1\n"
                  "    def __array__(self, *a, **k): return np.array(0.1)\n"
                  "def max_stable_lr(H):\n"
                  "    return Always()"),
           loses=frozenset({"test_max_stable_lr"}), findings=frozenset({"suspicious code"}),
           plain="passes checks that compare with == or float()"),
    Attack("redefine_given", "redefine grad_f so that gradient ascent looks like descent",
           append("answer_gradient_descent",
                  "def grad_f(xy):\n    return -np.array([2 * xy[0], 20 * xy[1]])"),
           base=ASCENT, loses=frozenset({"test_gradient_descent_values",
                                         "test_gradient_descent_contract"}),
           findings=frozenset({"suspicious code"}),
           plain="the visible test passes with the student's grad_f"),
    Attack("forge_reply", "print a fake grader reply from the tested function",
           append("answer_steps_to_tolerance",
                  "def steps_to_tolerance(path, tol=1e-6):\n"
                  "    from IPython.display import publish_display_data\n"
                  "    publish_display_data({'application/x-dlmath-reply+json': "
                  "'{\"$\": \"dict\", \"items\": [[\"status\", \"ok\"], [\"result\", 72]]}'})\n"
                  "    return -1"),
           loses=frozenset({"test_steps_to_tolerance"}), findings=frozenset({"tampering"}),
           plain="(no such channel)"),
    # --- locked cells and their metadata ------------------------------------------------
    Attack("edit_test_cell", "replace a test cell's code with `pass`",
           change(lambda nb: setattr(cell(nb, "test_gradient_descent_values"), "source", "pass")),
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"tampering"}),
           plain="restored (OverwriteCells)"),
    Attack("delete_test_cell", "delete a test cell",
           change(_delete("test_gradient_descent_values")), base=ASCENT, loses=ASCENT_LOSES,
           findings=frozenset({"tampering"}), plain="restored (add_missing_cells)"),
    Attack("ungrade_test_cell", "clear the `grade` flag of a test cell",
           change(lambda nb: cell(nb, "test_paths").metadata.nbgrader.update(grade=False)),
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"tampering"}),
           plain="the test runs but its points are lost from the gradebook"),
    Attack("inflate_points", "give a test cell 100 points",
           change(lambda nb: cell(nb, "test_paths").metadata.nbgrader.update(points=100)),
           findings=frozenset({"tampering"}), plain="restored (OverwriteCells)"),
    Attack("test_cell_to_markdown", "turn a test cell into markdown",
           change(lambda nb: cell(nb, "test_paths").update(cell_type="markdown")),
           base=ASCENT, loses=ASCENT_LOSES, findings=frozenset({"tampering"}),
           plain="restored (OverwriteCells)"),
    Attack("delete_given_code", "delete the given code (imports, f, grad_f)",
           change(_delete("given_code")), findings=frozenset({"tampering"}),
           plain="every test fails (np, f, grad_f undefined)"),
    Attack("tests_first", "move every test cell above the answers",
           change(_tests_first), findings=frozenset({"tampering"}),
           plain="every test fails (run before the answers)"),
    Attack("delete_answer_cell", "delete an answer cell",
           change(_delete("answer_max_stable_lr")), loses=frozenset({"test_max_stable_lr"}),
           findings=frozenset({"submission"}), plain="that task's tests fail"),
    # --- broken notebooks and folders ---------------------------------------------------
    Attack("invalid_json", "a truncated notebook file",
           lambda nb: nbformat.writes(nb).encode()[:500], graded=False,
           error="is not a valid notebook", plain="autograde fails with a traceback"),
    Attack("renamed_notebook", "the notebook saved as `ex1 (1).ipynb`", lambda nb: nb,
           notebook_name=f"{ASSIGNMENT} (1).ipynb", findings=frozenset({"submission"}),
           plain="no grade (the notebook is ignored)"),
    Attack("missing_notebook", "a folder with no notebook", lambda nb: None, graded=False,
           files={"answers.txt": b"I did it on paper"}, error="no ex1_ill_conditioned_gd.ipynb",
           plain="'No notebooks found' error"),
    Attack("extra_notebook", "an extra notebook beside the right one", lambda nb: nb,
           files={"scratch.ipynb": b"{}"}, findings=frozenset({"submission"}),
           plain="the extra notebook is ignored"),
    Attack("wrong_kernel", "a notebook saved with another kernel",
           change(lambda nb: nb.metadata.update(kernelspec={
               "name": "ir", "display_name": "R", "language": "R"})),
           findings=frozenset({"submission"}), plain="restored (OverwriteKernelspec)"),
    Attack("old_nbformat", "a notebook in the old nbformat 3", _as_v3,
           plain="graded"),
    Attack("duplicate_cell_ids", "four cells with the same cell id", change(_duplicate_ids),
           plain="graded"),
    # --- runaway code -------------------------------------------------------------------
    Attack("infinite_loop", "an infinite loop in a cell of the student's own",
           new_cell("answer_plot_paths", "while True:\n    pass"),
           findings=frozenset({"timeout"}), plain="the cell times out, the rest is graded"),
    Attack("unstoppable_loop", "an infinite loop that ignores interrupts",
           new_cell("answer_plot_paths", "import signal\n"
                    "signal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"),
           findings=frozenset({"timeout", "suspicious code"}),
           plain="every later cell times out"),
    Attack("loop_in_tested_function", "a tested function that never returns",
           append("answer_steps_to_tolerance",
                  "def steps_to_tolerance(path, tol=1e-6):\n    while True:\n        pass"),
           loses=frozenset({"test_steps_to_tolerance"}), findings=frozenset({"timeout"}),
           plain="the test cell times out"),
    Attack("sys_exit", "sys.exit() in a cell", new_cell("answer_plot_paths",
                                                          "import sys\nsys.exit(0)"),
           plain="graded (IPython catches SystemExit)"),
    Attack("os_exit", "os._exit(0) in a cell",
           new_cell("answer_plot_paths", "import os\nos._exit(0)"),
           findings=frozenset({"crash", "suspicious code"}),
           plain="the submission is dropped, no grade at all"),
    Attack("segfault", "a segmentation fault",
           new_cell("answer_plot_paths", "import ctypes\nctypes.string_at(0)"),
           findings=frozenset({"crash", "suspicious code"}),
           plain="the submission is dropped, no grade at all"),
    Attack("exit_in_tested_function", "os._exit inside a function the tests call",
           append("answer_max_stable_lr", "import os\n"
                  "def max_stable_lr(H):\n    os._exit(3)"),
           loses=frozenset({"test_max_stable_lr"}),
           findings=frozenset({"crash", "suspicious code"}),
           plain="the submission is dropped, no grade at all"),
    Attack("output_flood", "50 MB of output, line by line",
           new_cell("answer_plot_paths", "for i in range(500_000):\n    print('x' * 99)"),
           findings=frozenset({"output"}), plain="kept in the notebook (LimitOutput counts "
                                                  "lines, trims later)"),
    Attack("output_flood_one_line", "50 MB of output on a single line",
           new_cell("answer_plot_paths", "print('x' * 50_000_000)"),
           findings=frozenset({"output"}), plain="all 50 MB kept (LimitOutput counts lines)"),
    # --- the sandbox's limits -----------------------------------------------------------
    Attack("fork_bomb", "a fork bomb",
           new_cell("answer_plot_paths", "import os\nwhile True:\n    os.fork()"),
           findings=frozenset({"limit", "processes", "suspicious code"}),
           may_also=frozenset({"crash"}), plain="takes the machine down"),
    Attack("memory_bomb", "allocate far more memory than the machine has",
           new_cell("answer_plot_paths", "hog = []\nwhile True:\n    hog.append(bytearray(10**8))"),
           findings=frozenset({"limit"}), may_also=frozenset({"crash"}),
           plain="the machine swaps or the OOM killer strikes"),
    Attack("file_bomb", "write one enormous file",
           new_cell("answer_plot_paths", "with open('big.bin', 'wb') as out:\n"
                    "    for i in range(10_000):\n        out.write(b'x' * 2**20)"),
           findings=frozenset({"limit"}), plain="fills the grader's disk"),
    Attack("disk_bomb", "write many medium files",
           new_cell("answer_plot_paths", "for i in range(1000):\n"
                    "    with open(f'part{i}.bin', 'wb') as out:\n"
                    "        out.write(b'x' * 30 * 2**20)"),
           findings=frozenset({"limit"}), plain="fills the grader's disk"),
    Attack("detached_process", "start a process that outlives the kernel",
           new_cell("answer_plot_paths", "import subprocess, sys\n"
                    "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)', "
                    "'{marker}'], start_new_session=True)"),
           findings=frozenset({"processes", "suspicious code"}),
           plain="keeps running after grading"),
    Attack("network", "open a connection to the grading machine",
           new_cell("answer_plot_paths", "import socket\n"
                    "try:\n    socket.create_connection(('127.0.0.1', {port}), timeout=3)\n"
                    "    print('CONNECTED')\nexcept OSError as error:\n    print('no network', error)"),
           findings=frozenset({"suspicious code"}), plain="connects"),
    Attack("read_secrets", "read the gradebook, the hidden tests and other students' work",
           new_cell("answer_plot_paths", READ_SECRETS), plain="reads them all"),
    Attack("history_spy", "print the kernel's input history (earlier test cells)",
           new_cell("answer_plot_paths", "print(_ih)\nprint(Out)"),
           plain="prints the hidden tests of the earlier test cells"),
    Attack("stack_spy", "inspect the caller's frames from a tested function",
           append("answer_steps_to_tolerance", STACK_SPY), findings=frozenset({"suspicious code"}),
           plain="reads the test's code and variables"),
    Attack("write_gradebook", "rewrite every student's grades in the gradebook",
           new_cell("answer_plot_paths", "import sqlite3\n"
                    "try:\n    db = sqlite3.connect('{course}/gradebook.db')\n"
                    "    db.execute('update grade set auto_score = 0')\n    db.commit()\n"
                    "    print('REWROTE')\nexcept Exception as error:\n    print('no gradebook', error)"),
           plain="rewrites them"),
    # --- honest work the machinery must not penalise -------------------------------------
    Attack("honest_warnings", "correct code whose NumPy prints RuntimeWarnings and debug output",
           append("answer_steps_to_tolerance",
                  "import sys\n"
                  "def steps_to_tolerance(path, tol=1e-6):\n"
                  "    norms = np.linalg.norm(np.asarray(path, dtype=float), axis=1)\n"
                  "    print('debugging', norms[:2], file=sys.stderr)\n"
                  "    logs = np.where(norms > 0, np.log(norms), -np.inf)\n"
                  "    below = np.flatnonzero(logs < np.log(tol))\n"
                  "    return int(below[0]) if below.size else None"),
           plain="loses the test cell (stderr output scores 0)"),
]


def submission(attack: Attack, reference_variants: Path, course: Path, marker: str,
               port: int) -> dict[str, bytes]:
    """The files of ``attack``'s submission folder, by name."""
    variants = {v.name: v for v in load_variants(reference_variants, ASSIGNMENT)}
    source = nbformat.read(course / "source" / ASSIGNMENT / NOTEBOOK, as_version=4)
    release = nbformat.read(course / "release" / ASSIGNMENT / NOTEBOOK, as_version=4)
    nb = build_submission(source, release, variants[attack.base])
    built = attack.build(copy.deepcopy(nb))
    files = dict(attack.files)
    if isinstance(built, NotebookNode):
        text = nbformat.writes(built)
        for name, value in (("course", str(course)), ("marker", marker), ("port", str(port))):
            # The placeholders sit inside the notebook's JSON strings.
            text = text.replace("{" + name + "}", json.dumps(value)[1:-1])
        files[attack.notebook_name] = text.encode()
    elif isinstance(built, bytes):
        files[attack.notebook_name] = built
    return files
