"""The judge's agent inside the student's kernel: it runs what the judge asks and replies.

The judge (``judge.py``) never runs test code in the student's kernel. It asks this agent,
through ordinary silent ``execute_request`` messages, to look up the names a test needs, to
call a student function with the test's arguments, or to install the assignment's files.
Each reply is plain data (``wire.py``) published as one ``display_data`` message with the
MIME type :data:`REPLY_MIME`.

Everything here runs in the student's process and can be tampered with by the student;
that is fine, because it only ever produces data the judge checks from outside: a tampered
agent can only make the student's own answers look wrong.
"""

from __future__ import annotations

import base64
import hashlib
import sys
import traceback
import types
from pathlib import Path
from typing import Any

from dlmath.judge import wire

REPLY_MIME = "application/x-dlmath-reply+json"
# The version of the protocol this agent speaks: a digest of its code and of the wire format.
# The judge compares it with its own, so a kernel running another version of the course
# package is reported as the grading environment's fault, not taken for tampering.
FINGERPRINT = hashlib.sha256(Path(__file__).read_bytes()
                             + Path(wire.__file__).read_bytes()).hexdigest()[:16]

# Axes created for the judge's Axes arguments during the current call, by token.
_fresh_axes: dict[str, Any] = {}


def _user_namespace() -> dict[str, Any]:
    from IPython import get_ipython

    return get_ipython().user_ns


def _reply(payload: dict[str, Any]) -> None:
    from IPython.display import publish_display_data

    publish_display_data({REPLY_MIME: wire.dumps(payload, _encode_axes)})


def student_object(name: str) -> Any:
    """The student's object called ``name`` (the judge's proxies unpickle to this)."""
    namespace = _user_namespace()
    if name not in namespace:
        raise NameError(f"name {name!r} is not defined")
    return namespace[name]


def fresh_axes(token: str) -> Any:
    """A new Axes standing in for the judge's Axes ``token`` (its content goes back after)."""
    if token not in _fresh_axes:
        import matplotlib.pyplot as plt

        _, _fresh_axes[token] = plt.subplots()
        # Another figure is current while the student's code runs (as after any earlier plot
        # in a notebook), so code that draws with plt.* instead of on ax draws there.
        plt.figure()
    return _fresh_axes[token]


def describe_axes(ax: Any) -> dict[str, Any]:
    """What the course's plot checks read from an Axes, as plain data."""
    import numpy as np
    from matplotlib.collections import PathCollection
    from matplotlib.contour import ContourSet
    from matplotlib.patches import Ellipse

    from dlmath.checks.plots import legend_texts

    def floats(values: Any) -> np.ndarray:
        try:
            return np.asarray(values, dtype=float)
        except (TypeError, ValueError):
            return np.zeros(0)

    lines = [{"label": str(line.get_label()), "x": floats(line.get_xdata()),
              "y": floats(line.get_ydata())} for line in ax.get_lines()]
    collections = []
    for collection in ax.collections:
        kind = ("contour" if isinstance(collection, ContourSet) else
                "points" if isinstance(collection, PathCollection) else "other")
        collections.append({"kind": kind, "label": str(collection.get_label()),
                            "offsets": floats(collection.get_offsets())})
    # A Circle is an Ellipse with equal axes.
    patches = [{"kind": "circle", "center": floats(patch.center), "radius": float(patch.width) / 2}
               if isinstance(patch, Ellipse) and patch.width == patch.height
               else {"kind": "other"} for patch in ax.patches]
    aspect = ax.get_aspect()
    return {"lines": lines, "collections": collections, "patches": patches,
            "aspect": aspect if isinstance(aspect, str) else float(aspect),
            "legend": legend_texts(ax), "xscale": ax.get_xscale(),
            "yscale": ax.get_yscale(), "title": ax.get_title(), "xlabel": ax.get_xlabel(),
            "ylabel": ax.get_ylabel()}


def _encode_axes(value: Any) -> dict[str, Any] | None:
    from matplotlib.axes import Axes

    if not isinstance(value, Axes):
        return None
    token = next((t for t, ax in _fresh_axes.items() if ax is value), None)
    return {"$": "axes", "token": token, "describe": wire.encode(describe_axes(value))}


def _snapshot(value: Any) -> str | None:
    """A fingerprint of an argument's data, to see whether the call changed it."""
    if callable(value) and not hasattr(value, "__array__"):
        return None
    try:
        return wire.dumps(value, _encode_axes)
    except Exception:  # noqa: BLE001 - an argument we cannot fingerprint is not reported
        return None


def handle(request_b64: str) -> None:
    """Serve one judge request (a base64 cloudpickle) and publish the reply."""
    import cloudpickle

    if not _baseline:  # the first request comes before any student code
        record_baseline()
    try:
        request = cloudpickle.loads(base64.b64decode(request_b64))
        _reply(_serve(request))
    except BaseException as error:  # noqa: BLE001 - every failure becomes a reply
        _reply({"status": "failed", "error": wire.Raised(error, traceback.format_exc())})
    finally:
        _fresh_axes.clear()
        close_figures()


def close_figures() -> None:
    """Close every matplotlib figure, if pyplot has been imported at all."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close("all")


def _serve(request: dict[str, Any]) -> dict[str, Any]:
    operation = request["op"]
    if operation == "kinds":
        namespace = _user_namespace()
        return {"status": "ok", "kinds": {
            name: ("missing" if name not in namespace else
                   "callable" if callable(namespace[name]) else "value")
            for name in request["names"]}}
    if operation == "get":
        namespace = _user_namespace()
        return {"status": "ok", "values": {name: namespace[name] for name in request["names"]
                                           if name in namespace}}
    if operation == "call":
        return _call(request)
    if operation == "install":
        _install(request["files"])
        return {"status": "ok", "fingerprint": FINGERPRINT, "path": str(Path(__file__).parent)}
    if operation == "audit":
        return {"status": "ok", "findings": audit()}
    raise ValueError(f"unknown operation {operation!r}")


def _call(request: dict[str, Any]) -> dict[str, Any]:
    function = student_object(request["name"])
    args, kwargs = request["args"], request["kwargs"]
    before = {**{i: _snapshot(a) for i, a in enumerate(args)},
              **{k: _snapshot(v) for k, v in kwargs.items()}}
    try:
        result = function(*args, **kwargs)
    except BaseException as error:  # noqa: BLE001 - the student's error goes to the judge
        frames = traceback.format_exception(type(error), error, error.__traceback__)
        # Drop this agent's own frame: the student sees their code only.
        text = "".join(frames[:1] + frames[2:])
        return {"status": "raised", "error": wire.Raised(error, text)}
    after = {**dict(enumerate(args)), **kwargs}
    changed = {str(key): value for key, value in after.items()
               if before[key] is not None and _snapshot(value) != before[key]}
    return {"status": "ok", "result": result, "changed": changed}


def _install(files: dict[str, bytes]) -> None:
    """Write the assignment's files into the kernel's working folder."""
    here = Path.cwd().resolve()
    for name, data in files.items():
        target = (here / name).resolve()
        if here not in target.parents:
            raise ValueError(f"refusing to write outside the working folder: {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def request_code(request_b64: str) -> str:
    """The code the judge sends to make the kernel serve ``request_b64``."""
    return f"__import__('dlmath.judge.agent').judge.agent.handle({request_b64!r})"


# What student code must not change, captured by ``record_baseline`` before any student code runs.
# (Not torch: importing torch.func makes torch wrap some of its own functions.)
_AUDITED_MODULES = ("builtins", "math", "numpy", "numpy.linalg", "numpy.random", "numpy.testing",
                    "matplotlib.pyplot")
_baseline: dict[str, Any] = {}


def _hooks() -> dict[str, Any]:
    """The interpreter and IPython hooks through which code can rewrite or hide other code."""
    from IPython import get_ipython

    shell = get_ipython()
    return {
        "sys.excepthook": sys.excepthook, "sys.displayhook": sys.displayhook,
        "sys.settrace": sys.gettrace(), "sys.setprofile": sys.getprofile(),
        "IPython input transformers": tuple(shell.input_transformers_cleanup)
        + tuple(shell.input_transformers_post),
        "IPython AST transformers": tuple(shell.ast_transformers),
        "IPython custom exception handlers": shell.custom_exceptions,
        "IPython showtraceback": getattr(shell, "showtraceback", None),
        # IPython and the inline plotting backend register callbacks of their own.
        "IPython event callbacks": tuple(
            (event, callback) for event, callbacks in shell.events.callbacks.items()
            for callback in callbacks
            if not getattr(callback, "__module__", "").startswith(
                ("IPython", "ipykernel", "matplotlib_inline"))),
    }


def _module_members() -> dict[str, dict[str, Any]]:
    # Private names change on their own (builtins._ holds the last result), so only public
    # ones count.
    return {name: {attr: value for attr, value in vars(sys.modules[name]).items()
                   if not attr.startswith("_")}
            for name in _AUDITED_MODULES if name in sys.modules}


def _same(before: Any, now: Any) -> bool:
    # ipykernel installs a fresh bound method as builtins.input for every execution.
    return before is now or (isinstance(before, types.MethodType) and before == now)


def record_baseline() -> None:
    """Record the pristine state of the kernel (the judge's first request, before any student
    code, does this; by then ipykernel has set up its per-request hooks)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot._get_backend_mod()  # pyplot swaps some functions when it loads its backend
    _baseline["modules"] = _module_members()
    _baseline["hooks"] = _hooks()


def audit() -> list[str]:
    """What student code changed in the kernel since ``record_baseline``: one sentence per change.

    This is detection only (student code could hide its traces); verdicts never depend on it,
    because the judge decides them outside this process.
    """
    if not _baseline:
        return ["the kernel's baseline was not recorded"]
    findings = []
    now = _module_members()
    for module, members in _baseline["modules"].items():
        current = now.get(module, {})
        replaced = sorted(a for a, value in members.items()
                          if a in current and not _same(value, current[a]))
        deleted = sorted(a for a in members if a not in current)
        if replaced:
            findings.append(f"{module}: replaced {', '.join(replaced[:8])}")
        if deleted:
            findings.append(f"{module}: deleted {', '.join(deleted[:8])}")
    hooks = _hooks()
    for hook, before in _baseline["hooks"].items():
        if hooks[hook] != before:
            findings.append(f"changed {hook}")
    return findings
