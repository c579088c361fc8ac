"""Parallel and distributed grading give what plain serial ``nbgrader autograde`` gives."""

from __future__ import annotations

import base64
import json
import re
import struct
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbconvert.preprocessors import CoalesceStreamsPreprocessor
from nbformat import NotebookNode
from traitlets.config import Config

from dlmath.cells import is_test_cell
from dlmath.course import copy_course, load_config, open_api
from dlmath.grading.pipeline import SubmissionResult, grade, read_scores
from dlmath.variants import identity
from dlmath.variants.secret import key_for
from grader_tests.dask_cluster import local_dask_cluster
from grader_tests.students import (
    ASSIGNMENTS,
    REPO,
    VARIANTS_ROOT,
    load_variants,
    use_harness_secret,
    write_submission,
)

# Per assignment: the reference, the blank, and two mistakes: a small class of 20.
SAMPLE = {a: load_variants(VARIANTS_ROOT, a)[:2] + [v for v in load_variants(VARIANTS_ROOT, a)
                                                     if v.kind == "mistake"][:2]
          for a in ASSIGNMENTS}


def deterministic(output: dict) -> object:
    """What of a student cell's output two correct executions must agree on. Not the bytes of
    an image (a PNG's pixels depend on the environment's rendering; its kind and size do not)
    and not execution counts: nbgrader's Execute runs the test cells in the kernel too, so its
    counts, and the ``In [n]`` of its tracebacks, run ahead. An error is its name and value."""
    if output["output_type"] == "error":
        return ["error", output["ename"], output["evalue"]]
    data = {mime: (image_size(value) if mime.startswith("image/") else value)
            for mime, value in output.get("data", {}).items()}
    return {**{k: v for k, v in output.items()
               if k not in ("data", "metadata", "execution_count")}, "data": data}


def image_size(value: str) -> tuple[int, int] | str:
    """A base64 PNG's (width, height), from its header; other images as they are."""
    raw = base64.b64decode(value)
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        return value
    return struct.unpack(">II", raw[16:24])


def autograded(course: Path, assignment: str, student: str) -> list[NotebookNode]:
    """The autograded notebook's code cells, with consecutive prints to one stream merged
    (how the kernel splits a cell's stdout into messages depends on timing)."""
    nb = nbformat.read(course / "autograded" / student / assignment / f"{assignment}.ipynb", 4)
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})
    return [cell for cell in nb.cells if cell.cell_type == "code"]


# A decimal number in a text. The same computation in two kernels may differ in its last bits
# (BLAS's order of summation depends on threads), so numbers compare to 9 significant digits.
NUMBER = re.compile(r"-?\d+\.\d+(?:e[-+]?\d+)?")


def rounded(text: str) -> str:
    """``text`` with every decimal number shown to 9 significant digits."""
    return NUMBER.sub(lambda number: f"{float(number.group()):.9g}", text)


def student_outputs(cells: list[NotebookNode]) -> list[str]:
    """Each student cell's source and outputs; each test cell's source and whether it failed
    (what it prints on failure is the judge's own explanation, checked by ``check_messages``);
    numbers ``rounded``."""
    return [rounded(json.dumps([c.source, any(o.output_type == "error" for o in c.outputs)]
                               if is_test_cell(c)
                               else [c.source, [deterministic(o) for o in c.outputs]],
                               sort_keys=True)) for c in cells]


def check_messages(cells: list[NotebookNode]) -> list[list[str] | None]:
    """Each test cell's failed checks' messages, or None where the cell did not fail on a
    check (in an ordinary kernel a student's error escapes the check it interrupted)."""
    messages = [[rounded(o.evalue) for o in c.outputs if o.get("ename") == "CheckFailed"]
                for c in cells if is_test_cell(c)]
    return [m or None for m in messages]


def plain_nbgrader(course: Path) -> Config:
    """The course's configuration with nbgrader's own ``Execute`` in place of ``SafeExecute``:
    every cell, test cells included, runs in an ordinary kernel, so the judge, the sandbox
    and the workers are all absent from the baseline and any fault of theirs shows."""
    config = load_config(course)
    config.Autograde.autograde_preprocessors = [
        "nbgrader.preprocessors.Execute" if name.endswith(".SafeExecute") else name
        for name in config.Autograde.autograde_preprocessors]
    return config


def test_parallel_grading_equals_plain_serial_nbgrader(
        graded: dict[tuple[str, str], SubmissionResult], released_course: Path,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    serial = copy_course(REPO, tmp_path / "serial")
    use_harness_secret(serial)  # the numbers of released_course's students
    api = open_api(serial, plain_nbgrader(serial))
    assert "nbgrader.preprocessors.Execute" in api.config.Autograde.autograde_preprocessors
    for assignment, variants in SAMPLE.items():
        assert api.generate_assignment(assignment)["success"]
        for variant in variants:
            write_submission(serial, variant.name, variant)
            # nbgrader's Execute knows no student: its kernel gets the student's key from the
            # environment, as a student's kernel in dlmath lab or on the hub does.
            monkeypatch.setenv(identity.ENVIRONMENT,
                               key_for(serial, api.config, variant.name))
            outcome = api.autograde(assignment, variant.name, create=True)
            assert outcome["success"], f"{assignment} {variant.name}: {outcome.get('log')}"
    from nbgrader.api import Gradebook

    with Gradebook(api.coursedir.db_url) as gradebook:
        for assignment, variants in SAMPLE.items():
            for variant in variants:
                where = f"{assignment} {variant.name}"
                assert read_scores(gradebook, assignment, variant.name) == \
                    graded[assignment, variant.name].cells, where
                plain = autograded(serial, assignment, variant.name)
                ours = autograded(released_course, assignment, variant.name)
                assert student_outputs(plain) == student_outputs(ours), where
                for expected, got in zip(check_messages(plain), check_messages(ours),
                                         strict=True):
                    assert expected is None or expected == got, where


@pytest.fixture
def dask_cluster(tmp_path: Path) -> Iterator[str]:
    """A real Dask scheduler and two workers on loopback, started with the dask CLI."""
    with local_dask_cluster(2, tmp_path) as address:
        yield address


def test_grading_through_a_dask_cluster(dask_cluster: str, tmp_path: Path,
                                        graded: dict[tuple[str, str], SubmissionResult]) -> None:
    assignment = ASSIGNMENTS[0]
    course = copy_course(REPO, tmp_path / "course")
    api = open_api(course)
    assert api.generate_assignment(assignment)["success"]
    variants = load_variants(VARIANTS_ROOT, assignment)[:6]
    for variant in variants:
        write_submission(course, variant.name, variant)
    results = grade(api, course, [assignment], scheduler=dask_cluster)
    for result in results:
        assert result.ok and result.cells == graded[assignment, result.student].cells
    workers = {r.executed_by for r in results}
    assert "" not in workers, "some notebooks were not executed on the cluster"
    assert len(workers) == 2, f"expected both workers to execute notebooks: {workers}"
