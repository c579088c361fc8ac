"""Kernel hooks: every figure is drawn inline, whichever matplotlib backend a student picks.

(The Validate hook that shows failed checks as their message is tested in test_lab.py.)
"""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

from dlmath.preprocessors.execute import SafeExecute
from dlmath.student.kernel_hooks import PLOTS_INLINE
from dlmath.student.lab import VALIDATE_KERNEL_ARGUMENTS

# How students pick a backend; each cell then draws one figure.
PICKS = ["%matplotlib notebook", "%matplotlib widget", "%matplotlib ipympl", "%matplotlib qt",
         "%matplotlib tk", "%matplotlib osx", "import matplotlib\nmatplotlib.use('nbAgg')",
         "plt.switch_backend('QtAgg')", "%matplotlib inline"]


def test_every_interactive_backend_draws_inline() -> None:
    cells = ["import matplotlib.pyplot as plt"] + [
        f"{pick}\nplt.figure()\nplt.plot([1, 3, 2])" for pick in PICKS]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=120,
                   extra_arguments=[PLOTS_INLINE]).execute()
    for pick, cell in zip(PICKS, nb.cells[1:], strict=True):
        kinds = [(o.output_type, o.get("ename")) for o in cell.outputs]
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        scripts = [o for o in cell.outputs if "application/javascript" in o.get("data", {})]
        assert len(images) == 1 and not scripts, (pick, kinds)
        assert not any(kind == "error" for kind, _ in kinds), (pick, kinds)


def test_a_non_interactive_backend_is_left_alone() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib\nmatplotlib.use('pdf')\nprint(matplotlib.get_backend())")])
    NotebookClient(nb, kernel_name="python3", timeout=120,
                   extra_arguments=[PLOTS_INLINE]).execute()
    assert nb.cells[0].outputs[0].text.strip() == "pdf"


def test_grading_and_validate_kernels_load_it() -> None:
    assert PLOTS_INLINE in SafeExecute().kernel_arguments()
    assert PLOTS_INLINE in VALIDATE_KERNEL_ARGUMENTS
