"""The judge runs test cells against a student's namespace it reaches only through the agent.

Here the "kernel" is an in-process stand-in that serves the agent's requests from a plain
dict, so every request and reply still goes through the cloudpickle / plain-data round trip.
"""

from __future__ import annotations

import base64
import json
import os
import re
from typing import Any

import cloudpickle
import matplotlib
import numpy as np
import pytest

from dlmath.judge import agent, wire
from dlmath.judge.judge import (
    GraderError,
    Judge,
    StudentCodeError,
    StudentControlFlow,
    StudentFunction,
    draw_axes,
    error_output,
    rebuild_exception,
    send_files,
)

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

GIVEN = ["import numpy as np\n\ndef f(x):\n    return x ** 2\n\nX0 = np.array([1.0, 2.0])"]


class InProcessKernel:
    """Serves the judge's requests from ``namespace``, as the agent in a kernel would."""

    def __init__(self, namespace: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
        self.namespace = namespace
        self.requests: list[dict[str, Any]] = []
        monkeypatch.setattr(agent, "_user_namespace", lambda: namespace)

    def request(self, code: str, timeout: float) -> str:
        payload = re.fullmatch(
            r"__import__\('dlmath.judge.agent'\).judge.agent.handle\('(.*)'\)", code)
        request = cloudpickle.loads(base64.b64decode(payload.group(1)))
        self.requests.append(request)
        return wire.dumps(agent._serve(request), agent._encode_axes)


def student(code: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # noqa: S102 - the simulated student's notebook
    return namespace


def test_student_functions_become_proxies_and_variables_plain_data(monkeypatch) -> None:
    kernel = InProcessKernel(student("import numpy as np\ndef double(x):\n    return 2 * x\n"
                                     "table = {0.5: np.arange(3.0)}"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    # Inside the test cell the student's function is the judge's proxy, not the function.
    outputs = judge.run_test("assert type(double).__name__ == 'StudentFunction'\n"
                             "assert double(np.array([1.0, 2.0])).tolist() == [2.0, 4.0]\n"
                             "assert table[0.5].tolist() == [0.0, 1.0, 2.0]", "test_a")
    assert outputs == []
    assert isinstance(judge.namespace["double"], StudentFunction)
    assert type(judge.namespace["table"]) is dict


def test_given_code_is_the_judges_own_even_if_the_student_redefines_it(monkeypatch) -> None:
    kernel = InProcessKernel(student("def f(x):\n    return 0"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    assert judge.run_test("assert f(3) == 9", "test_given") == []
    assert "f" in judge.own


def test_a_given_cell_that_uses_student_work_runs_only_in_the_kernel(monkeypatch) -> None:
    kernel = InProcessKernel(student("def table_of():\n    return [1, 2]\ntable = table_of()"),
                             monkeypatch)
    judge = Judge(kernel, [*GIVEN, "table = table_of()"])
    assert "table" in judge.student_names and "table" not in judge.namespace
    assert judge.run_test("assert table == [1, 2]", "test_table") == []


def test_a_failing_check_becomes_an_error_output_without_test_code(monkeypatch) -> None:
    kernel = InProcessKernel(student("def double(x):\n    return 3 * x"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    source = ("from dlmath.checks import check_close\n"
              "secret_input = 21.0\n"
              "check_close('double(21)', double(secret_input), 42.0, rtol=0, atol=0)")
    [output] = judge.run_test(source, "test_double")
    assert output.output_type == "error" and output.ename == "CheckFailed"
    assert "expected: 42.0" in output.evalue and "got:      63.0" in output.evalue
    assert "secret_input" not in "\n".join(output.traceback)


def test_student_exceptions_keep_their_class_and_show_the_students_traceback(monkeypatch) -> None:
    kernel = InProcessKernel(student("class MyError(ValueError):\n    pass\n"
                                     "def step(lr):\n    raise MyError('lr must be positive')"),
                             monkeypatch)
    judge = Judge(kernel, GIVEN)
    assert judge.run_test("try:\n    step(-1)\nexcept ValueError as e:\n"
                          "    assert type(e).__name__ == 'MyError'", "test_raise") == []
    [output] = judge.run_test("step(-1)", "test_unexpected")
    assert output.ename == "MyError"
    assert output.traceback[0] == "Your code raised this error while a test called it:"
    assert any("lr must be positive" in line for line in output.traceback)


def test_arguments_the_student_mutates_are_copied_back(monkeypatch) -> None:
    kernel = InProcessKernel(student("def scale(x, rng):\n    x *= 2\n    rng.random()\n"
                                     "    return None"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    judge.namespace.update(x=np.array([1.0, 2.0]), rng=np.random.default_rng(0))
    judge.own |= {"x", "rng"}
    reference = np.random.default_rng(0)
    reference.random()
    assert judge.run_test("scale(x, rng)", "test_mutation") == []
    assert judge.namespace["x"].tolist() == [2.0, 4.0]
    assert judge.namespace["rng"].random() == reference.random()


def test_lambdas_defined_by_a_test_run_on_the_students_side(monkeypatch) -> None:
    kernel = InProcessKernel(student("def apply(g, x):\n    return g(x)"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    assert judge.run_test("k = 3.0\nassert apply(lambda v: k * v + f(v), 2.0) == 10.0",
                          "test_lambda") == []


def test_plots_come_back_as_axes_the_checks_can_read(monkeypatch) -> None:
    kernel = InProcessKernel(student(
        "import matplotlib.pyplot as plt\n"
        "def plot(ax=None):\n"
        "    if ax is None:\n        _, ax = plt.subplots()\n"
        "    ax.plot([0, 1], [2, 3], label='line')\n    ax.legend()\n    return ax"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    source = ("import matplotlib.pyplot as plt\n"
              "from dlmath.checks.plots import check_axes, check_drawn_on, check_legend, "
              "check_line_data\n"
              "ax = check_axes('plot()', plot())\n"
              "check_line_data('line', ax, 'line', [[0, 2], [1, 3]], rtol=0, atol=0)\n"
              "check_legend('plot()', ax, ['line'])\n"
              "_, given = plt.subplots()\n"
              "check_line_data('on ax', check_drawn_on('plot(ax)', plot(ax=given), given), 'line',"
              " [[0, 2], [1, 3]], rtol=0, atol=0)")
    assert judge.run_test(source, "test_plot") == []


def test_names_a_test_cell_defines_stay_the_judges_even_after_a_failure(monkeypatch) -> None:
    kernel = InProcessKernel(student("helper = 'the student'"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    judge.run_test("def helper():\n    return 1\nassert False", "test_first")
    assert judge.run_test("assert helper() == 1", "test_second") == []


def test_a_given_cell_that_fails_in_the_judge_is_the_courses_problem(monkeypatch) -> None:
    kernel = InProcessKernel({}, monkeypatch)
    with pytest.raises(GraderError, match="given cell 1"):
        Judge(kernel, ["X = 1 / 0"])


def test_rebuilt_exceptions_map_exits_to_an_ordinary_exception() -> None:
    error = rebuild_exception({"types": ["builtins.SystemExit", "builtins.BaseException"],
                               "message": "0"})
    assert isinstance(error, StudentControlFlow) and isinstance(error, Exception)
    unknown = rebuild_exception({"types": ["somewhere.Odd", "builtins.object"], "message": "x"})
    assert type(unknown).__name__ == "Odd" and isinstance(unknown, Exception)


def test_draw_axes_reproduces_what_the_plot_checks_read() -> None:
    from dlmath.checks.plots import check_circle, check_contours, check_equal_aspect, check_points

    _, ax = plt.subplots()
    draw_axes(ax, {"lines": [], "collections": [
        {"kind": "points", "label": "eig", "offsets": np.array([[1.0, 0.0], [0.0, 1.0]])},
        {"kind": "contour", "label": "_", "offsets": np.zeros((0, 2))}],
        "patches": [{"kind": "circle", "center": np.zeros(2), "radius": 2.0}],
        "aspect": 1.0, "legend": None, "xscale": "log", "yscale": "linear",
        "title": "t", "xlabel": "x", "ylabel": "y"})
    check_points("eig", ax, "eig", [[0.0, 1.0], [1.0, 0.0]], atol=0)
    check_circle("circle", ax, 2.0, rtol=0)
    check_contours("contours", ax)
    check_equal_aspect("aspect", ax)
    assert ax.get_xscale() == "log"
    plt.close("all")


def test_error_output_names_timeouts_as_nbgrader_does() -> None:
    from dlmath.judge.judge import StudentTimeout

    assert error_output(StudentTimeout("slow")).ename == "CellTimeoutError"


def test_the_judge_leaves_the_environment_of_later_processes_alone(monkeypatch) -> None:
    # JupyterLab started after a grading run must still show plots inline.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    Judge(InProcessKernel({}, monkeypatch), GIVEN)
    assert "MPLBACKEND" not in os.environ


PLOTTERS = ("import matplotlib.pyplot as plt\n"
            "def on_ax(ax=None):\n"
            "    ax.plot([0, 1], [2, 3], label='line')\n    ax.legend()\n    return ax\n"
            "def on_current(ax=None):\n"
            "    plt.plot([0, 1], [2, 3], label='line')\n    plt.legend()\n    return ax\n"
            "def legend_first(ax=None):\n"
            "    ax.legend()\n    ax.plot([0, 1], [2, 3], label='line')\n    return ax\n")
PLOT_TEST = ("from dlmath.checks.plots import check_legend, check_line_data, given_axes\n"
             "ax = given_axes()\n"
             "check_line_data('the line', {name}(ax=ax), 'line', [[0, 2], [1, 3]],\n"
             "                rtol=0, atol=0)\n"
             "check_legend('the legend', ax, ['line'])")


@pytest.mark.parametrize(("plotter", "failure"), [
    ("on_ax", None), ("on_current", "no line labelled 'line'"),
    ("legend_first", "the legend does not list ['line']")])
def test_a_given_ax_is_not_the_current_axes_and_its_legend_must_list_the_lines(
        monkeypatch, plotter: str, failure: str | None) -> None:
    judge = Judge(InProcessKernel(student(PLOTTERS), monkeypatch), GIVEN)
    outputs = judge.run_test(PLOT_TEST.format(name=plotter), "test_plot")
    if failure is None:
        assert outputs == []
    else:
        [output] = outputs
        assert output.ename == "CheckFailed" and failure in output.evalue


STRICT_STEP = ("import numpy as np\n"
               "def max_stable_lr(H):\n"
               "    if np.any(np.asarray(H) < 0):\n"
               "        raise ValueError('H must be positive definite')\n"
               "    return 2 / np.linalg.eigvalsh(H)[-1]\n")
EXPLAINED_TEST = ("from dlmath.checks import check_close\n"
                  "H = np.array([[2.0, -1.0], [-1.0, 2.0]])\n"
                  "check_close('max_stable_lr([[2, -1], [-1, 2]])', max_stable_lr(H), 2 / 3,\n"
                  "            rtol=1e-12, atol=0, hint='negative entries are allowed.')\n"
                  "### BEGIN HIDDEN TESTS\n"
                  "secret = np.array([[3.0, -0.25], [-0.25, 1.0]])\n"
                  "check_close('max_stable_lr of a hidden 2x2 matrix', max_stable_lr(secret),\n"
                  "            0.5,\n"
                  "            rtol=1e-12, atol=0, hint='only the eigenvalues count.')\n"
                  "### END HIDDEN TESTS\n")


def test_an_error_in_the_students_code_is_explained_as_the_check_it_interrupted(
        monkeypatch) -> None:
    judge = Judge(InProcessKernel(student(STRICT_STEP), monkeypatch), GIVEN)
    [output] = judge.run_test(EXPLAINED_TEST, "test_max_stable_lr")
    assert output.ename == "CheckFailed"
    lines = output.traceback
    assert lines[0] == "Your code raised this error while a test called it:"
    assert lines[1:6] == [
        "Check failed: max_stable_lr([[2, -1], [-1, 2]])",
        "  problem:  your function max_stable_lr raised ValueError: H must be positive definite",
        "  input:    max_stable_lr([[ 2., -1.], [-1., 2.]] (shape (2, 2)))",
        "  expected: 0.6666666666666666",
        "  hint:     negative entries are allowed."]
    assert lines[-2:] == ['  File "<string>", line 4, in max_stable_lr',
                          "ValueError: H must be positive definite"]
    assert output.evalue.startswith("Check failed: max_stable_lr([[2, -1], [-1, 2]])")


def test_a_hidden_input_is_described_not_shown(monkeypatch) -> None:
    judge = Judge(InProcessKernel(student(STRICT_STEP), monkeypatch), GIVEN)
    visible_part = EXPLAINED_TEST.replace("[[2.0, -1.0], [-1.0, 2.0]]", "[[2.0, 1.0], [1.0, 2.0]]")
    [output] = judge.run_test(visible_part.replace("2 / 3", "2 / 3.0"), "test_hidden")
    text = "\n".join(output.traceback)
    assert "Check failed: max_stable_lr of a hidden 2x2 matrix" in text
    assert "input:    max_stable_lr(...) on a hidden input: a float64 array of shape (2, 2)" in text
    assert "0.25" not in text and "secret" not in text
    assert "hint:     only the eigenvalues count." in text


def test_an_error_of_the_test_on_a_returned_value_names_the_check(monkeypatch) -> None:
    judge = Judge(InProcessKernel(student("def table():\n    return {'f1': 1}"), monkeypatch),
                  GIVEN)
    source = ("from dlmath.checks import check_integer\n"
              "check_integer('the iterations of f2', table()['f2'], 1503,\n"
              "              hint='one row per function.')")
    [output] = judge.run_test(source, "test_table")
    assert output.ename == "CheckFailed"
    assert output.evalue.splitlines() == [
        "Check failed: the iterations of f2",
        "  problem:  the test could not use what your code returned (KeyError: 'f2')",
        "  expected: 1503", "  hint:     one row per function."]


def test_the_students_traceback_names_no_folder_of_the_grader() -> None:
    from dlmath.judge.failures import clean_traceback

    text = ('Traceback (most recent call last):\n'
            '  File "/tmp/ipykernel_4242/1234567.py", line 5, in max_stable_lr\n'
            '  File "/srv/course/.venv/lib/python3.11/site-packages/numpy/linalg/_linalg.py", '
            'line 9, in eigvalsh\n'
            '  File "/usr/lib/python3.11/json/decoder.py", line 3, in decode\n'
            '  File "/srv/course/dlmath/helpers.py", line 1, in helper\n')
    assert clean_traceback(text).splitlines()[1:] == [
        '  File "<your notebook cell>", line 5, in max_stable_lr',
        '  File "numpy/linalg/_linalg.py", line 9, in eigvalsh',
        '  File "json/decoder.py", line 3, in decode',
        '  File "helpers.py", line 1, in helper']


class ForgingKernel(InProcessKernel):
    """Serves the agent's replies, but answers calls of ``forged`` with ``reply`` verbatim."""

    def __init__(self, namespace: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
                 forged: str, reply: str) -> None:
        super().__init__(namespace, monkeypatch)
        self.forged, self.reply = forged, reply

    def request(self, code: str, timeout: float) -> str:
        honest = super().request(code, timeout)
        last = self.requests[-1]
        return self.reply if last.get("op") == "call" and last.get("name") == self.forged \
            else honest


MALFORMED_REPLIES = {
    "not JSON": "{",
    "a wrong type": json.dumps({"status": "ok", "result": 1, "changed": [1, 2]}),
    "an untagged value": json.dumps({"$": "dict", "items": [["status", "ok"],
                                                            ["result", {"a": 1}]]}),
    "an array whose shape overflows": json.dumps({"$": "dict", "items": [
        ["status", "ok"], ["result", {"$": "nd", "dtype": "<f8", "shape": [2**62, 8, 0],
                                      "data": ""}]]}),
    "a dtype numpy does not know": json.dumps({"$": "dict", "items": [
        ["status", "ok"], ["result", {"$": "nd", "dtype": "nonsense", "shape": [1],
                                      "data": ""}]]}),
    "two million items": '{"$": "list", "items": [' + ",".join(["0"] * 2_000_000) + "]}",
    "nesting 100000 deep": "[" * 100_000 + "]" * 100_000,
    "a broken plot": json.dumps({"$": "dict", "items": [
        ["status", "ok"], ["result", {"$": "axes", "describe": {"$": "dict", "items": [
            ["lines", {"$": "list", "items": [{"$": "dict", "items": []}]}]]}}]]}),
}


@pytest.mark.parametrize("kind", sorted(MALFORMED_REPLIES))
def test_a_malformed_reply_fails_only_the_checks_that_called_the_student(kind: str,
                                                                         monkeypatch) -> None:
    kernel = ForgingKernel(student("def double(x):\n    return 2 * x\n"
                                   "def triple(x):\n    return 3 * x"),
                           monkeypatch, "double", MALFORMED_REPLIES[kind])
    judge = Judge(kernel, GIVEN)
    [output] = judge.run_test("assert double(2.0) == 4.0", "test_double")
    assert output.ename == "StudentReplyError", output
    assert "could not read" in output.evalue
    # The judge goes on: the student's other functions are still graded.
    assert judge.run_test("assert triple(2.0) == 6.0", "test_triple") == []


def test_an_integer_no_float_can_hold_arrives_as_a_placeholder_the_check_rejects(
        monkeypatch) -> None:
    huge = '{"$": "dict", "items": [["status", "ok"], ["result", ' + "9" * 5000 + "]]}"
    judge = Judge(ForgingKernel(student("def double(x):\n    return 2 * x"), monkeypatch,
                                "double", huge), GIVEN)
    [output] = judge.run_test("from dlmath.checks import check_close\n"
                              "check_close('double(2)', double(2.0), 4.0, rtol=0, atol=0)",
                              "test_double")
    assert output.ename == "CheckFailed" and "an integer of 5000 digits" in output.evalue


@pytest.mark.parametrize("raised", ["StopIteration", "StopAsyncIteration", "GeneratorExit",
                                    "KeyboardInterrupt", "SystemExit"])
def test_control_flow_exceptions_from_the_student_fail_the_check(raised: str,
                                                                 monkeypatch) -> None:
    kernel = InProcessKernel(student(f"def step(x):\n    if x > 1:\n        raise {raised}()\n"
                                     "    return x"), monkeypatch)
    judge = Judge(kernel, GIVEN)
    # Rebuilt as itself, StopIteration would end map() early and every step would "pass".
    [output] = judge.run_test("results = list(map(step, [0, 1, 2, 3]))\n"
                              "assert len(results) == 4", "test_map")
    assert output.ename == "StudentControlFlow" and raised in output.evalue


def test_callables_sent_to_the_student_carry_only_what_the_call_needs(monkeypatch) -> None:
    seen: list[object] = []
    kernel = InProcessKernel(student("def apply(g, x):\n    return g(x)"), monkeypatch)
    kernel.namespace["apply"] = lambda g, x: (seen.append(g), g(x))[1]
    judge = Judge(kernel, GIVEN)
    source = ("HIDDEN_TABLE = {'seed 21': 'HIDDEN-VALUE-1'}\n"
              "def scale(v):\n    'HIDDEN-DOCSTRING: the hidden case uses seed 21'\n"
              "    return 2 * v\n"
              "assert apply(lambda v: scale(v) + 1, 3.0) == 7.0")
    assert judge.run_test(source, "test_hidden") == []
    [received] = seen
    reachable = repr((received.__globals__, received.__code__.co_consts,
                      received.__globals__["scale"].__code__.co_consts,
                      received.__globals__["scale"].__doc__,
                      received.__code__.co_filename))
    assert "HIDDEN" not in reachable, reachable
    assert set(received.__globals__) <= {"scale", "__builtins__", "__name__"}


class InstallKernel(InProcessKernel):
    """Answers the install request with ``reply`` (None: stays silent, as a kernel without
    the agent does)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, reply: dict | None) -> None:
        super().__init__({}, monkeypatch)
        self.reply = reply

    def request(self, code: str, timeout: float) -> str:
        if self.reply is None:
            raise StudentCodeError("your kernel did not answer the grader")
        return wire.dumps(self.reply)


def test_a_kernel_with_another_dlmath_is_the_environments_fault(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # the honest agent below installs a file in its folder
    other = InstallKernel(monkeypatch, {"status": "ok", "fingerprint": "0123456789abcdef",
                                        "path": "/elsewhere/dlmath"})
    with pytest.raises(GraderError, match="another version of the course package") as fault:
        send_files(other, {}, 10)
    assert "/elsewhere/dlmath" in str(fault.value) and "No student is at fault" in str(fault.value)
    with pytest.raises(GraderError, match="did not run the grader's agent"):
        send_files(InstallKernel(monkeypatch, None), {}, 10)
    honest = InProcessKernel({}, monkeypatch)
    send_files(honest, {"data.txt": b"x"}, 10)  # the same agent: no complaint
