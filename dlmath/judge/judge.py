"""The judge: runs a notebook's test cells in the grader's own process, never in the student's.

nbgrader (like every autograder) runs test code inside the student's kernel, where student
code can rewrite anything the test relies on: numpy, the check helpers, IPython's
transformers, the exception machinery. Here the test cells run in a namespace of the
grading process instead. The given code (imports, ``f``, ``grad_f``, constants) is executed
there from the trusted cells; every other name a test cell uses is looked up in the student's
kernel: a student *function* becomes a :class:`StudentFunction` proxy whose calls run in the
student's kernel (through ``agent.py``) and return plain data (``wire.py``); a student
*variable* is fetched as plain data. So the student's process only ever supplies data, and
every verdict is reached here, by code the student cannot touch. The hidden tests never
enter the student's kernel at all (only the inputs of the calls they make do).
"""

from __future__ import annotations

import ast
import base64
import builtins
import contextlib
import inspect
import io
import sys
import types
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import cloudpickle
import numpy as np
from nbformat import NotebookNode
from nbformat.v4 import new_output

from dlmath.checks.values import CheckFailed
from dlmath.deadlines import Deadline
from dlmath.judge import agent, failures, wire


class StudentCodeError(Exception):
    """Base of the exceptions that stand for a failure in the student's kernel."""

    student_traceback: str = ""


class StudentTimeout(StudentCodeError):
    """The student's code did not return in time (its kernel was interrupted or restarted)."""


class StudentKernelDied(StudentCodeError):
    """The student's kernel died while running their code."""


class StudentControlFlow(StudentCodeError):
    """The student's code raised an exception that steers control flow (SystemExit,
    KeyboardInterrupt, StopIteration, GeneratorExit, ...). Rebuilt as itself in the judge, it
    would end the grader, or a ``map`` or ``for`` loop of a test, early; as this, it fails the
    check that called the student's code."""


class StudentReplyError(StudentCodeError):
    """What the student's kernel sent back is not well-formed plain data (a forged or
    oversized reply, an integer no float can hold, ...)."""


class GraderError(RuntimeError):
    """A problem in the course's own material (a given cell fails in the judge): not the
    student's fault, so the notebook is not graded and the instructor is told why."""


class KernelChannel(Protocol):
    """How the judge reaches the student's kernel (implemented by ``preprocessors.SafeExecute``)."""

    def request(self, code: str, timeout: float) -> str:
        """Run ``code`` silently in the kernel; return the agent's reply text.

        Raises StudentTimeout or StudentKernelDied (after recovering the kernel).
        """


# Exceptions a student's code may raise that the judge can rebuild with their real class.
_KNOWN_EXCEPTIONS: dict[str, type[BaseException]] = {
    f"builtins.{name}": cls for name, cls in vars(builtins).items()
    if isinstance(cls, type) and issubclass(cls, Exception)
}
_KNOWN_EXCEPTIONS["numpy.linalg.LinAlgError"] = np.linalg.LinAlgError
# Raised by the student's code, these would act on the judge's own control flow.
_CONTROL_FLOW = {f"builtins.{cls.__name__}" for cls in (
    SystemExit, KeyboardInterrupt, GeneratorExit, StopIteration, StopAsyncIteration)}
_student_exception_classes: dict[tuple[str, type], type[BaseException]] = {}


def rebuild_exception(data: dict[str, Any]) -> BaseException:
    """An exception of the judge's own classes standing for the student's exception.

    Its class is the student's (a subclass named like it, if the student defined one) of the
    nearest known base class, so ``except ValueError`` catches a student's subclass of it.
    """
    types = data.get("types")
    names = [n for n in types if isinstance(n, str)][:64] if isinstance(types, list) else []
    message = str(data.get("message", ""))
    if _CONTROL_FLOW & set(names):
        error: BaseException = StudentControlFlow(
            f"your code raised {names[0].split('.')[-1][:100]}: {message}")
    else:
        base = next((_KNOWN_EXCEPTIONS[n] for n in names if n in _KNOWN_EXCEPTIONS), Exception)
        own = names[0] if names else "builtins.Exception"
        if _KNOWN_EXCEPTIONS.get(own) is base:
            cls = base
        else:
            key = (own, base)
            if key not in _student_exception_classes:
                _student_exception_classes[key] = type(
                    own.split(".")[-1][:100], (base,), {"__module__": "student"})
            cls = _student_exception_classes[key]
        try:
            error = cls(message)
        except TypeError:  # a base class whose constructor wants more arguments
            error = Exception(message)
    error.student_traceback = str(data.get("traceback", ""))  # type: ignore[attr-defined]
    return error


def draw_axes(ax: Any, description: dict[str, Any]) -> None:
    """Draw on ``ax`` what ``agent.describe_axes`` read from the student's Axes."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Circle

    def points(value: Any) -> np.ndarray:
        array = np.asarray(value, dtype=float)
        return array if array.ndim == 2 and array.shape[1] == 2 else np.zeros((0, 2))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in description.get("lines", []):
            ax.plot(np.asarray(line["x"], dtype=float), np.asarray(line["y"], dtype=float),
                    label=str(line["label"]))
        for collection in description.get("collections", []):
            if collection["kind"] == "points":
                xy = points(collection["offsets"])
                ax.scatter(xy[:, 0], xy[:, 1], label=str(collection["label"]))
            elif collection["kind"] == "contour":
                ax.contour([[0.0, 1.0], [1.0, 2.0]], levels=[0.5])
        for patch in description.get("patches", []):
            if patch["kind"] == "circle":
                ax.add_patch(Circle(tuple(np.asarray(patch["center"], dtype=float)),
                                    float(patch["radius"]), fill=False))
        for axis, setter in (("xscale", ax.set_xscale), ("yscale", ax.set_yscale)):
            if description.get(axis) in ("linear", "log", "symlog", "logit"):
                setter(description[axis])
        aspect = description.get("aspect")
        if isinstance(aspect, float) or aspect in ("auto", "equal"):
            ax.set_aspect(aspect)
        ax.set_title(str(description.get("title", "")))
        ax.set_xlabel(str(description.get("xlabel", "")))
        ax.set_ylabel(str(description.get("ylabel", "")))
        legend = description.get("legend")
        if isinstance(legend, list):  # the entries of the student's legends, maybe none
            ax.legend(handles=[Line2D([], [], label=str(text)) for text in legend[:100]])


TEST_MODULE = "__dlmath_test__"  # the judge's namespace for test cells, as a module name


def _bare_code(code: types.CodeType) -> types.CodeType:
    """``code`` without docstrings, file name or line numbers (here and in the code it nests).

    A function of a test cell that goes to the student's kernel (a lambda a test passes, the
    helpers it calls) needs its code, not the hidden test's text or where in the cell it sat.
    """
    consts = tuple(_bare_code(c) if isinstance(c, types.CodeType) else c
                   for c in code.co_consts)
    # A function's docstring is its first constant (None when it has none); comprehensions
    # and lambdas (named <...>) have no docstring, and class bodies are no functions.
    if code.co_flags & inspect.CO_NEWLOCALS and not code.co_name.startswith("<") \
            and consts and isinstance(consts[0], str):
        consts = (None, *consts[1:])
    return code.replace(co_consts=consts, co_filename="<test>", co_firstlineno=1)


def _bare_function(function: types.FunctionType) -> types.FunctionType:
    """A copy of ``function`` with :func:`_bare_code`, and no docstring, annotations or
    attributes."""
    bare = types.FunctionType(_bare_code(function.__code__), function.__globals__,
                              function.__name__, function.__defaults__, function.__closure__)
    bare.__kwdefaults__ = function.__kwdefaults__
    bare.__qualname__ = function.__qualname__
    return bare


class _Call:
    """One call into the student's kernel: the judge's Axes arguments travel as tokens, and
    functions of the test cells as :func:`_bare_function` (cloudpickle sends only the globals
    a function uses)."""

    def __init__(self) -> None:
        self.axes: dict[str, Any] = {}
        self.drawn: set[str] = set()

    def pickle(self, request: dict[str, Any]) -> str:
        from matplotlib.axes import Axes

        call = self

        class Pickler(cloudpickle.Pickler):
            def reducer_override(self, obj: Any) -> Any:
                if isinstance(obj, Axes):
                    token = f"axes-{id(obj)}"
                    call.axes[token] = obj
                    return agent.fresh_axes, (token,)
                if isinstance(obj, types.FunctionType) and obj.__module__ == TEST_MODULE:
                    return super().reducer_override(_bare_function(obj))
                return super().reducer_override(obj)

        buffer = io.BytesIO()
        Pickler(buffer).dump(request)
        return base64.b64encode(buffer.getvalue()).decode("ascii")

    def decode_extra(self, data: dict[str, Any]) -> Any:
        if data["$"] == "exception":
            return rebuild_exception(data)
        if data["$"] == "axes":
            description = wire.decode(data.get("describe"))
            if not isinstance(description, dict):
                raise wire.WireError("malformed axes")
            token = data.get("token")
            if token in self.axes:
                if token not in self.drawn:
                    draw_axes(self.axes[token], description)
                    self.drawn.add(token)
                return self.axes[token]
            import matplotlib.pyplot as plt

            _, ax = plt.subplots()
            draw_axes(ax, description)
            return ax
        return NotImplemented


def _apply_in_place(target: Any, new: Any) -> None:
    """Make the judge's argument ``target`` show what the student's call did to its copy."""
    if isinstance(target, np.ndarray) and isinstance(new, np.ndarray):
        try:
            if target.shape != new.shape:
                raise ValueError("resized")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                target[...] = new.astype(target.dtype, copy=False)
        except (TypeError, ValueError):  # resized, or no longer numbers: mark it all changed
            target[...] = np.nan if target.dtype.kind in "fc" else target + 1
    elif isinstance(target, list) and isinstance(new, list):
        target[:] = new
    elif isinstance(target, dict) and isinstance(new, dict):
        target.clear()
        target.update(new)
    elif isinstance(target, np.random.Generator) and isinstance(new, np.random.Generator):
        target.bit_generator.state = new.bit_generator.state
    else:
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(target, torch.Tensor) and \
                isinstance(new, torch.Tensor) and target.shape == new.shape:
            with torch.no_grad():
                target.copy_(new)


def _field(reply: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    """``reply[name]``, which must be of type ``kind`` (or absent, if a default is given)."""
    value = reply.get(name, default)
    if not isinstance(value, kind):
        raise StudentReplyError(f"your kernel sent the grader a reply it could not read "
                                f"({name} is {type(value).__name__}, not {kind.__name__})")
    return value


class StudentFunction:
    """Stands in the judge for a function the student defined; calls run in their kernel."""

    def __init__(self, name: str, judge: Judge) -> None:
        self.__name__ = name
        self._judge = judge

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._judge.call(self.__name__, args, kwargs)

    def __repr__(self) -> str:
        return f"<your function {self.__name__}>"

    def __reduce__(self) -> tuple[Callable[[str], Any], tuple[str]]:
        # Sent to the student's kernel (inside a test's lambda, say) it is their own object.
        return agent.student_object, (self.__name__,)


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names a piece of code reads, names it binds anywhere)."""
    loaded, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (loaded if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return loaded, bound


class Judge:
    """Runs one notebook's test cells against one student's kernel."""

    def __init__(self, channel: KernelChannel, given_cells: list[str], *,
                 timeout: float = 60.0) -> None:
        self.channel = channel
        self.timeout = timeout
        self.namespace: dict[str, Any] = {"__name__": TEST_MODULE, "__builtins__": builtins}
        # Names the judge's own code defines; every other name is the student's.
        self.own: set[str] = set()
        self._deadline = Deadline(None)
        self.student_names: set[str] = set()
        import matplotlib

        matplotlib.use("Agg")  # the judge draws nothing on screen (set here, not inherited)
        for index, source in enumerate(given_cells):
            self._run_given(index, source)

    def _run_given(self, index: int, source: str) -> None:
        tree = ast.parse(source)
        loaded, bound = _names(tree)
        needs = loaded - bound - self.own - set(dir(builtins))
        if needs:
            # It uses the student's work (e.g. `table = spectrum_table(SIZES, SEED)`): it runs in
            # the student's kernel only, and the names it binds are the student's data.
            self.student_names |= bound
            return
        try:
            exec(compile(tree, f"<given cell {index + 1}>", "exec"), self.namespace)  # noqa: S102
        except Exception as error:
            raise GraderError(f"given cell {index + 1} fails in the judge: "
                              f"{type(error).__name__}: {error}") from error
        self.own |= bound

    # -- talking to the student's kernel -------------------------------------------------

    def _request(self, request: dict[str, Any], call: _Call | None = None) -> dict[str, Any]:
        call = call or _Call()
        if self._deadline.passed():
            raise StudentTimeout(f"your code did not finish within the {self.timeout:g} s "
                                 "this test cell may take")
        reply_text = self.channel.request(agent.request_code(call.pickle(request)),
                                          self._deadline.remaining())
        try:
            reply = wire.loads(reply_text, call.decode_extra)
        except wire.WireError as error:
            raise StudentReplyError(f"the grader could not read what your code returned: "
                                    f"{error}. Return plain values: numbers, strings, lists, "
                                    "dicts, NumPy arrays, tensors, or the Axes you drew on"
                                    ) from error
        if not isinstance(reply, dict) or reply.get("status") not in ("ok", "raised", "failed"):
            raise StudentReplyError("your kernel sent the grader a reply it could not read")
        if reply["status"] == "failed":
            error = reply.get("error")
            raise StudentCodeError("the grader could not run your code: "
                                   f"{error if isinstance(error, BaseException) else error!r}")
        return reply

    def call(self, name: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        """Call the student's function ``name`` in their kernel; return its plain-data result."""
        call = _Call()
        reply = self._request({"op": "call", "name": name, "args": list(args),
                               "kwargs": kwargs}, call)
        if reply["status"] == "raised":
            error = reply.get("error")
            if not isinstance(error, BaseException):
                raise StudentCodeError(repr(error))
            error.student_call = (name, args, kwargs)  # type: ignore[attr-defined]
            raise error
        changed = _field(reply, "changed", dict, default={})
        if changed:
            for key, new in changed.items():
                position = int(key) if isinstance(key, str) and key.isdigit() else None
                if position is not None and position < len(args):
                    _apply_in_place(args[position], new)
                elif key in kwargs:
                    _apply_in_place(kwargs[key], new)
        return reply.get("result")

    def _bind_student_names(self, names: set[str]) -> None:
        """Bind each of ``names`` the student defined: functions as proxies, the rest as data."""
        wanted = sorted(names)
        if not wanted:
            return
        kinds = _field(self._request({"op": "kinds", "names": wanted}), "kinds", dict)
        values = [n for n in wanted if kinds.get(n) == "value"]
        fetched = _field(self._request({"op": "get", "names": values}), "values", dict) \
            if values else {}
        for name in wanted:
            self.namespace.pop(name, None)
            if kinds.get(name) == "callable":
                self.namespace[name] = StudentFunction(name, self)
            elif name in fetched:
                self.namespace[name] = fetched[name]

    # -- test cells ----------------------------------------------------------------------

    def run_test(self, source: str, name: str) -> list[NotebookNode]:
        """Run one test cell; return its outputs (an error output if a check failed)."""
        stdout = io.StringIO()
        self._deadline = Deadline(self.timeout)
        error: BaseException | None = None
        bound: set[str] = set()
        try:
            tree = ast.parse(source)
            loaded, bound = _names(tree)
            # Names the cell binds itself (loop variables, lambda parameters) are its own.
            self._bind_student_names(((loaded - self.own - set(dir(builtins)))
                                      | (loaded & self.student_names)) - bound)
            with contextlib.redirect_stdout(stdout), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                exec(compile(tree, f"<{name}>", "exec"), self.namespace)  # noqa: S102
        except Exception as caught:  # noqa: BLE001 - every failure is this test's verdict
            error = caught
        finally:
            # What the cell defined before a check failed stays the judge's own (a helper
            # defined at the top of a test cell is used by later cells).
            self.own |= {n for n in bound if n in self.namespace}
            self._deadline = Deadline(None)
            agent.close_figures()
        if error is not None and not isinstance(error, CheckFailed | StudentCodeError):
            # The student's code (or the test, on what it returned) raised inside a check.
            error = failures.explain(error, source, f"<{name}>",
                                     lambda value: isinstance(value, StudentFunction)) or error
        outputs = []
        if stdout.getvalue():
            outputs.append(new_output("stream", name="stdout", text=stdout.getvalue()))
        if error is not None:
            outputs.append(error_output(error))
        return outputs

    def audit(self) -> list[str]:
        """What the student's code changed in its kernel (detection only; see agent.audit)."""
        self._deadline = Deadline(self.timeout)
        try:
            findings = self._request({"op": "audit"}).get("findings", [])
        except (StudentCodeError, wire.WireError) as error:
            return [f"the kernel could not be audited ({type(error).__name__})"]
        finally:
            self._deadline = Deadline(None)
        return [str(f)[:300] for f in findings] if isinstance(findings, list) else []


def send_files(channel: KernelChannel, files: dict[str, bytes], timeout: float) -> None:
    """Copy the assignment's files into the working folder of the student's kernel, and check
    that the kernel's agent speaks this judge's protocol (the same ``dlmath``).

    Done before any student code runs, so every failure here is the grading environment's
    (GraderError), never the student's.
    """
    from pathlib import Path

    request = base64.b64encode(cloudpickle.dumps({"op": "install", "files": files}))
    try:
        reply = wire.loads(channel.request(agent.request_code(request.decode("ascii")), timeout),
                           lambda data: data if data["$"] == "exception" else NotImplemented)
    except (StudentCodeError, wire.WireError) as error:
        raise GraderError(
            f"the kernel did not run the grader's agent ({error}); the Python environment "
            "that runs kernels must have the course package (dlmath): run bin/setup, and "
            "see the kernel's log") from error
    if not isinstance(reply, dict) or reply.get("status") != "ok":
        raise GraderError(f"could not copy the assignment's files into the kernel: {reply!r}")
    if reply.get("fingerprint") != agent.FINGERPRINT:
        raise GraderError(
            f"the kernel runs another version of the course package (dlmath at "
            f"{reply.get('path')!r}) than the grader ({str(Path(agent.__file__).parent)!r}): "
            "grade with the environment installed from this course folder (bin/setup), or "
            "reinstall it. No student is at fault")


def error_output(error: BaseException) -> NotebookNode:
    """The notebook error output for a failed test, showing no line of the test's code.

    A check's message says what was checked, expected and got; an error raised by the
    student's own code shows the student's traceback. The test source is never shown: the
    hidden tests stay hidden, in the autograded notebook and in the feedback.
    """
    if isinstance(error, StudentTimeout):
        ename = "CellTimeoutError"
    elif isinstance(error, StudentKernelDied):
        ename = "DeadKernelError"
    else:
        ename = type(error).__name__
    evalue = str(error)
    lines = []
    # A check that failed because the student's code raised (failures.explain, or a
    # check_raises that got another exception) keeps that code's traceback.
    student_traceback = (getattr(error, "student_traceback", "")
                         or getattr(error.__context__, "student_traceback", ""))
    if student_traceback:
        lines.append("Your code raised this error while a test called it:")
        if isinstance(error, CheckFailed):
            lines += [*evalue.splitlines(), ""]
        lines += failures.clean_traceback(student_traceback).rstrip().splitlines()
    else:
        lines.append(f"{ename}: {evalue}")
    return new_output("error", ename=ename, evalue=evalue, traceback=lines)
