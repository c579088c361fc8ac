"""Whose numbers a notebook's given cell gets: the grader's identity first, then the
environment that dlmath lab and the hub set, and a clear error without either."""

from __future__ import annotations

import pytest

from dlmath.variants import SHARED, VariantError, identity, student_parameters
from dlmath.variants.derive import student_key
from dlmath.variants.ex1 import EX1, ex1_parameters

ALICE = student_key(b"0123456789abcdef", "alice")
BOB = student_key(b"0123456789abcdef", "bob")


@pytest.fixture(autouse=True)
def no_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(identity.ENVIRONMENT, raising=False)
    monkeypatch.setattr(identity, "_assumed", None)


def test_without_an_identity_the_student_is_told_where_to_open_the_notebook() -> None:
    with pytest.raises(VariantError, match="does not know who you are: open the notebook in "
                                           "the course's JupyterHub or with `dlmath lab"):
        student_parameters(EX1)


def test_the_environment_gives_the_students_numbers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(identity.ENVIRONMENT, ALICE)
    assert student_parameters(EX1) == ex1_parameters(ALICE)
    monkeypatch.setenv(identity.ENVIRONMENT, "../../etc/passwd")
    with pytest.raises(VariantError, match="not a variant key"):
        student_parameters(EX1)


def test_the_grader_identity_wins_over_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(identity.ENVIRONMENT, ALICE)
    identity.assume(BOB)
    assert student_parameters(EX1) == ex1_parameters(BOB)
    # The judge's identity (grading process) wins over what the process was told before.
    with identity.grading_as(SHARED):
        assert student_parameters(EX1) == ex1_parameters(SHARED)
    assert student_parameters(EX1) == ex1_parameters(BOB)
    assert ex1_parameters(ALICE) != ex1_parameters(BOB)
