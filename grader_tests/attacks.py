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

from grader_tests.students import build_submission, load_variants

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
                  "def grad_f(xy):\n"
                  "    return -np.array([CURVATURES[0] * xy[0], CURVATURES[1] * xy[1]])"),
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
    # --- what crosses back to the judge -------------------------------------------------
    Attack("reply_flood", "return two million items from a tested function",
           append("answer_steps_to_tolerance",
                  "def steps_to_tolerance(path, tol=1e-6):\n    return [0] * 2_000_000"),
           loses=frozenset({"test_steps_to_tolerance"}),
           plain="the grader holds all of it in memory"),
    Attack("reply_huge_integer", "return an integer with 5000 digits",
           append("answer_steps_to_tolerance",
                  "def steps_to_tolerance(path, tol=1e-6):\n    return 10 ** 4999"),
           loses=frozenset({"test_steps_to_tolerance"}),
           plain="the check fails on the integer"),
    Attack("reply_deep_nesting", "return a list nested 5000 levels deep",
           append("answer_steps_to_tolerance",
                  "def steps_to_tolerance(path, tol=1e-6):\n    value = 72\n"
                  "    for _ in range(5000):\n        value = [value]\n    return value"),
           loses=frozenset({"test_steps_to_tolerance"}),
           plain="the check fails on the list"),
    Attack("reply_malformed", "publish a broken grader reply from the tested function",
           append("answer_steps_to_tolerance",
                  "def steps_to_tolerance(path, tol=1e-6):\n"
                  "    from IPython.display import publish_display_data\n"
                  "    publish_display_data({'application/x-dlmath-reply+json': "
                  "'{\"$\": \"nd\", \"dtype\": \"<f8\", \"shape\": [4611686018427387904, 4, 0], "
                  "\"data\": \"\"}'})\n"
                  "    return 72"),
           loses=frozenset({"test_steps_to_tolerance"}), findings=frozenset({"tampering"}),
           plain="(no such channel)"),
    Attack("raise_stop_iteration", "raise StopIteration (or GeneratorExit) from a tested function",
           change(lambda nb: [append(answer, code)(nb) for answer, code in (
               ("answer_steps_to_tolerance",
                "def steps_to_tolerance(path, tol=1e-6):\n    raise StopIteration(72)"),
               ("answer_max_stable_lr", "def max_stable_lr(H):\n    raise GeneratorExit()"))]),
           loses=frozenset({"test_steps_to_tolerance", "test_max_stable_lr"}),
           plain="the test cells fail with the student's exception"),
    Attack("own_dlmath", "hand in a package named dlmath beside the notebook",
           lambda nb: nb, files={"dlmath/__init__.py": b"raise SystemExit('shadowed')\n",
                                 "dlmath/judge/agent.py": b"def handle(request):\n    pass\n"},
           findings=frozenset({"submission"}),
           plain="(nbgrader runs its tests in the kernel: no agent to shadow)"),
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
    Attack("edit_parameter_cell", "take the shared numbers instead of one's own in the given cell",
           change(lambda nb: setattr(cell(nb, "given_code"), "source", cell(
               nb, "given_code").source.replace(
                   'student_parameters("ex1_ill_conditioned_gd")',
                   '__import__("dlmath.variants.ex1").variants.ex1.ex1_parameters('
                   '"shared")'))),
           findings=frozenset({"tampering"}), plain="restored (OverwriteCells)"),
    Attack("assume_other_identity", "switch the kernel to the shared numbers in a cell of one's own",
           new_cell("given_code", "import dlmath.variants.identity as identity\n"
                                  "identity.assume('shared')\n"
                                  "PROBLEM = identity.student_parameters('ex1_ill_conditioned_gd')\n"
                                  "X0 = np.array(PROBLEM.x0)\n"
                                  "LEARNING_RATES = PROBLEM.learning_rates"),
           loses=frozenset({"test_paths"}), findings=frozenset({"suspicious code"}),
           plain="(no per-student numbers)"),
    Attack("answer_from_the_parameters", "take an answer from the expected results the "
           "student's parameters object computes for the grader",
           append("answer_paths", "paths = {lr: PROBLEM.path(lr) for lr in LEARNING_RATES}"),
           findings=frozenset({"suspicious code"}), plain="full marks, unnoticed"),
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


def write_submission_of(attack: Attack, reference_variants: Path, course: Path, marker: str,
                        port: int) -> None:
    """Write ``attack``'s submission into ``submitted/<attack name>/<assignment>/``."""
    folder = course / "submitted" / attack.name / ASSIGNMENT
    for name, data in submission(attack, reference_variants, course, marker, port).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def submission(attack: Attack, reference_variants: Path, course: Path, marker: str,
               port: int) -> dict[str, bytes]:
    """The files of ``attack``'s submission folder, by relative path."""
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


# =============================================================================================
# Student content that tries to run in the pages the course renders
# =============================================================================================
#
# Each payload goes into one submission of ex1 (the reference solution, so it scores 10/10):
# into the written answer (markdown) or as the output of a code cell of the student's own,
# which grading executes in the sandbox like any other. If its script runs in a page, it
# records its name in ``window.top.__pwned``, renames the page (``PWNED <name>``) and uses the
# viewer's Jupyter session to write ``pwned-<name>.txt`` through the server's contents API;
# payloads that load instead of run request a URL holding ``pwned``. The browser test
# (tests/browser/test_hostile_content.py) watches all of those; benchmarks/attack_table.py
# prints plain nbgrader and this course side by side.

WRITTEN_ANSWER = "written_learning_rates"
HONEST_TEXT = "With lr = 0.1 the factor along y is $1 - 0.1 \\cdot 20 = -1$, so y never converges."


def script(kind: str) -> str:
    """The JavaScript a payload of ``kind`` runs: record, rename the page, call the API."""
    return ("(function(){var k='" + kind + "';"
            "try{window.top.__pwned=(window.top.__pwned||[]).concat([k])}catch(e){}"
            "try{document.title='PWNED '+k}catch(e){}"
            "try{var m=document.cookie.match(/_xsrf=([^;]+)/);"
            "fetch('/api/contents/pwned-'+k+'.txt',{method:'PUT',credentials:'same-origin',"
            "headers:{'Content-Type':'application/json',"
            "'X-XSRFToken':m?decodeURIComponent(m[1]):''},"
            "body:JSON.stringify({type:'file',format:'text',content:k})})}catch(e){}})()")


def js(kind: str) -> str:
    """:func:`script` as one expression without spaces or double quotes (for attributes)."""
    import base64

    return "eval(atob('" + base64.b64encode(script(kind).encode()).decode() + "'))"


# A 2x2 PNG (written by matplotlib's imsave).
TINY_PNG = ("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAYAAABytg0kAAAAOnRFWHRTb2Z0d2FyZQBNYXRwbG90bGliIHZlcnNp"
            "b24zLjExLjIsIGh0dHBzOi8vbWF0cGxvdGxpYi5vcmcvgI3uAAAAAAlwSFlzAAAPYQAAD2EBqD+naQAAABtJREFU"
            "eJxjcGEM+f/3ucp/xr/PVf67SxkwAABQkgg52dw3dQAAAABJRU5ErkJggg==")


@dataclass(frozen=True)
class HostileContent:
    """One payload: where it sits (``markdown``: the written answer; ``output``: a cell of
    the student's own whose output it is), and how it was written."""

    name: str
    tries: str
    where: str
    content: str
    needs_click: bool = False


def _markdown(name: str, tries: str, content: str, needs_click: bool = False) -> HostileContent:
    return HostileContent(name, tries, "markdown", content, needs_click)


def _output(name: str, tries: str, code: str) -> HostileContent:
    return HostileContent(name, tries, "output", code)


def _display(kind: str, value: str) -> str:
    return f"from IPython.display import display, {kind}\ndisplay({kind}({value!r}))"


def _publish(data: dict, metadata: dict | None = None) -> str:
    return ("from IPython.display import publish_display_data\n"
            f"publish_display_data({data!r}, metadata={metadata or {}!r})")


def hostile_content() -> list[HostileContent]:
    """The corpus (each name is also the ``kind`` its script reports)."""
    def p(kind: str) -> str:
        return js(kind)

    return [
        _markdown("md_img_onerror", "an image whose error handler runs script",
                  f'<img src=x onerror="{p("md_img_onerror")}">'),
        _markdown("md_script", "a script element", f"<script>{script('md_script')}</script>"),
        _markdown("md_svg_onload", "inline SVG with an onload handler",
                  f'<svg onload="{p("md_svg_onload")}"></svg>'),
        _markdown("md_svg_script", "a script inside inline SVG",
                  f"<svg><script>{script('md_svg_script')}</script></svg>"),
        _markdown("md_svg_animate", "an SVG animation's onbegin handler",
                  f'<svg><animate onbegin="{p("md_svg_animate")}" attributeName="x" dur="1s"/></svg>'),
        _markdown("md_iframe_srcdoc", "an iframe whose srcdoc (same origin) holds a script",
                  f'<iframe srcdoc="<script>{script("md_iframe_srcdoc").replace(chr(34), "&quot;")}</script>"></iframe>'),
        _markdown("md_iframe_javascript", "an iframe with a javascript: source",
                  f'<iframe src="javascript:{p("md_iframe_javascript")}"></iframe>'),
        _markdown("md_object_data", "an object element loading an HTML document",
                  '<object data="/pwned-md_object_data.html" type="text/html"></object>'),
        _markdown("md_embed", "an embed element", '<embed src="/pwned-md_embed.html">'),
        _markdown("md_details_ontoggle", "a details element's ontoggle handler",
                  f'<details open ontoggle="{p("md_details_ontoggle")}"><summary>s</summary></details>'),
        _markdown("md_input_autofocus", "an autofocused input's onfocus handler",
                  f'<input autofocus onfocus="{p("md_input_autofocus")}">'),
        _markdown("md_body_onload", "a body tag whose onload joins the page's body",
                  f'<body onload="{p("md_body_onload")}">'),
        _markdown("md_video_source", "a video source's error handler",
                  f'<video><source onerror="{p("md_video_source")}"></video>'),
        _markdown("md_noscript_mxss", "markup that changes meaning when re-parsed (noscript)",
                  f'<noscript><p title="</noscript><img src=x onerror={p("md_noscript_mxss")}>"></noscript>'),
        _markdown("md_math_mxss", "markup that changes meaning when re-parsed (MathML)",
                  f'<math><mtext><table><mglyph><style><img src=x onerror="{p("md_math_mxss")}">'),
        _markdown("md_comment_breakout", "an HTML comment that ends early",
                  f'<!--><img src=x onerror="{p("md_comment_breakout")}">-->'),
        _markdown("md_meta_refresh", "a meta refresh that navigates the grader away",
                  '<meta http-equiv="refresh" content="0;url=/pwned-md_meta_refresh">'),
        _markdown("md_base_href", "a base element that redirects the page's relative URLs",
                  '<base href="/pwned-md_base_href/">'),
        _markdown("md_style_import", "a style sheet that loads from elsewhere",
                  '<style>@import url("/pwned-md_style_import.css");</style>'),
        _markdown("md_link_stylesheet", "a link element that loads a style sheet",
                  '<link rel="stylesheet" href="/pwned-md_link_stylesheet.css">'),
        _markdown("md_style_url", "an inline style that loads a background image",
                  '<div style="background-image:url(\'/pwned-md_style_url.png\')">x</div>'),
        _markdown("md_style_overlay", "a fixed box covering the grading page with a fake score",
                  '<div id="pwned-md_style_overlay" style="position:fixed;top:0;left:0;width:100%;'
                  'height:100%;z-index:99999;background:white">Score: 10 / 10</div>'),
        _markdown("md_link_javascript", "a markdown link to a javascript: URL",
                  f"[open the plot](javascript:{p('md_link_javascript')})", needs_click=True),
        _markdown("md_link_obfuscated", "a javascript: link hidden by an entity and a tab",
                  f'<a href="jav&#x09;ascript:{p("md_link_obfuscated")}">details</a>',
                  needs_click=True),
        _markdown("md_link_data_html", "a link to an HTML data URL",
                  '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
                  needs_click=True),
        _markdown("md_form_formaction", "a form button whose formaction is javascript:",
                  f'<form><button formaction="javascript:{p("md_form_formaction")}">Save</button></form>',
                  needs_click=True),
        _markdown("md_mathjax_href", "a TeX \\href to a javascript: URL (MathJax renders links)",
                  f"$\\href{{javascript:{p('md_mathjax_href')}}}{{\\text{{click}}}}$",
                  needs_click=True),
        _markdown("md_id_clobbering", "elements named like the grading page's own score inputs",
                  '<p id="written_learning_rates" class="score tabbable">0</p>'),
        _output("out_html_img", "an HTML output whose image runs script on error",
                _display("HTML", f'<img src=x onerror="{p("out_html_img")}">')),
        _output("out_html_script", "an HTML output holding a script",
                _display("HTML", f"<script>{script('out_html_script')}</script>")),
        _output("out_javascript", "a JavaScript output", _display("Javascript", script("out_javascript"))),
        _output("out_svg", "an SVG output with a script and an onload handler",
                _display("SVG", '<svg xmlns="http://www.w3.org/2000/svg" onload="'
                         f'{p("out_svg")}"><script>{script("out_svg")}</script></svg>')),
        _output("out_markdown", "a markdown output with raw HTML",
                _display("Markdown", f'<img src=x onerror="{p("out_markdown")}">')),
        _output("out_latex", "a LaTeX output that closes its element",
                _display("Latex", f'$x$</div><img src=x onerror="{p("out_latex")}">')),
        _output("out_image_metadata", "an image whose width metadata adds an onload handler",
                _publish({"image/png": TINY_PNG, "text/plain": "plot"},
                         {"image/png": {"width": f"1 onload={p('out_image_metadata')}"}})),
        _output("out_image_data", "image data that closes the src attribute",
                _publish({"image/png": f'x" onerror="{p("out_image_data")}',
                          "text/plain": "plot"})),
        _output("out_html_isolated", "an isolated HTML output (an iframe) holding a script",
                _publish({"text/html": f"<script>{script('out_html_isolated')}</script>"},
                         {"text/html": {"isolated": True}})),
        _output("out_repr_html", "an object whose rich display is an SVG with onload",
                "class Figure:\n    def _repr_html_(self):\n"
                f"        return {('<svg onload=' + chr(34) + p('out_repr_html') + chr(34) + '></svg>')!r}\n"
                "Figure()"),
        _output("out_widget", "an HTML widget whose value holds an image with onerror",
                "import ipywidgets\nfrom IPython.display import display\n"
                f"display(ipywidgets.HTML(value={('<img src=x onerror=' + chr(34) + p('out_widget') + chr(34) + '>')!r}))"),
        _output("out_html_meta_refresh", "an HTML output with a meta refresh",
                _display("HTML", '<meta http-equiv="refresh" content="0;url=/pwned-out_html_meta_refresh">')),
        _output("out_html_form", "an HTML output with a form posting to the server",
                _display("HTML", '<form method="post" action="/pwned-out_html_form">'
                         '<input name="x" value="1"><button id="pwned-button">Grade</button></form>')),
    ]


def hostile_submission(content: HostileContent, nb: NotebookNode) -> NotebookNode:
    """``nb`` (a complete submission of ex1) carrying ``content``."""
    if content.where == "markdown":
        cell(nb, WRITTEN_ANSWER).source = f"{HONEST_TEXT}\n\n{content.content}\n"
    else:
        index = nb.cells.index(cell(nb, WRITTEN_ANSWER))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(content.content))
    return nb
