"""The test-cell helpers pass right answers, fail wrong ones with a helpful message,
and cannot be fooled by objects whose comparisons lie."""

from __future__ import annotations

import numpy as np
import pytest

from dlmath.checks import (
    CheckFailed,
    as_plain,
    check_array,
    check_close,
    check_equal,
    check_inputs_unchanged,
    check_integer,
    check_no_error,
    check_raises,
    check_same_values,
    check_true,
    result_of,
    which_part,
)


class LiesAboutEverything:
    """A return value that claims to equal anything and to be close to anything."""

    def __eq__(self, other: object) -> bool:
        return True

    def __abs__(self) -> float:
        return 0.0

    def __lt__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def test_check_array_accepts_lists_within_tolerance() -> None:
    check_array("x", [[1.0, 2.0]], np.array([[1.0, 2.0 + 1e-13]]), rtol=1e-12, atol=0)


def test_check_array_message_has_expected_got_and_hint() -> None:
    with pytest.raises(CheckFailed) as failure:
        check_array("gradient_descent(...)", [1.0, 2.5], [1.0, 2.0], rtol=1e-9, atol=0,
                    hint="subtract the gradient")
    message = str(failure.value)
    assert "gradient_descent(...)" in message
    assert "expected:" in message and "got:" in message
    assert "hint:     subtract the gradient" in message
    assert "first at index (1,)" in message


def test_check_array_rejects_wrong_shape_even_if_broadcastable() -> None:
    with pytest.raises(CheckFailed, match="wrong shape"):
        check_array("x", np.ones(3), np.ones((1, 3)), rtol=0, atol=0)


def test_check_array_rejects_a_tiny_wrong_answer_that_default_atol_would_pass() -> None:
    with pytest.raises(CheckFailed):
        check_array("x", [1e-10], [3e-10], rtol=1e-6, atol=0)


def test_check_array_rejects_nan() -> None:
    with pytest.raises(CheckFailed, match="NaN"):
        check_array("x", [np.nan], [1.0], rtol=1, atol=1)


def test_lying_objects_cannot_pass() -> None:
    with pytest.raises(CheckFailed):
        check_array("x", LiesAboutEverything(), [1.0], rtol=0, atol=0)
    with pytest.raises(CheckFailed):
        check_close("x", LiesAboutEverything(), 1.0, rtol=0, atol=0)
    with pytest.raises(CheckFailed):
        check_integer("k", LiesAboutEverything(), 72)
    with pytest.raises(CheckFailed):
        check_true("c", LiesAboutEverything())


def test_check_integer_accepts_numpy_integers_only_with_the_right_value() -> None:
    check_integer("k", np.int64(72), 72)
    with pytest.raises(CheckFailed, match="the integer 72"):
        check_integer("k", 72.0, 72)
    with pytest.raises(CheckFailed, match="the integer 1"):
        check_integer("k", True, 1)
    with pytest.raises(CheckFailed, match="expected: 72"):
        check_integer("k", 73, 72)


def test_check_integer_none() -> None:
    check_integer("k", None, None)
    with pytest.raises(CheckFailed, match="expected: None"):
        check_integer("k", -1, None)


def test_check_raises_reports_other_exceptions_and_silence() -> None:
    def no_raise(x: float) -> float:
        return x

    def wrong_error(x: float) -> float:
        raise TypeError("nope")

    check_raises("f", ValueError, lambda: (_ for _ in ()).throw(ValueError("ok")))
    with pytest.raises(CheckFailed, match="no exception; returned 3"):
        check_raises("f", ValueError, no_raise, 3)
    with pytest.raises(CheckFailed, match="TypeError: nope"):
        check_raises("f", ValueError, wrong_error, 3)


def test_check_inputs_unchanged_detects_in_place_updates() -> None:
    def mutates(x: np.ndarray) -> np.ndarray:
        x *= 2
        return x

    assert check_inputs_unchanged("f", lambda x: x + 1, np.ones(2)).tolist() == [2.0, 2.0]
    with pytest.raises(CheckFailed, match="argument 1 was modified in place"):
        check_inputs_unchanged("f", mutates, np.ones(2))


def test_check_no_error_passes_quietly_and_reports_the_exception() -> None:
    assert check_no_error("f", lambda x: x + 1, 1) is None
    with pytest.raises(CheckFailed, match="ValueError: sums to 1.0000005") as failure:
        check_no_error("entropy([0.5, 0.5000005])", lambda: (_ for _ in ()).throw(
            ValueError("sums to 1.0000005")), hint="allow round-off up to 1e-6")
    assert "expected: a result, without an exception" in str(failure.value)
    assert "hint:     allow round-off up to 1e-6" in str(failure.value)


def test_as_plain_converts_numpy_and_nested_containers() -> None:
    value = {"n": np.int64(3), "rows": (np.float64(0.5), "he"), "ok": np.True_,
             "a": np.array([1, 2])}
    plain = as_plain("x", value)
    assert plain == {"n": 3, "rows": [0.5, "he"], "ok": True, "a": [1, 2]}
    assert type(plain["n"]) is int and type(plain["ok"]) is bool and type(plain["a"][0]) is int


def test_check_equal_compares_plain_data_only() -> None:
    check_equal("rows", [(100, "xavier"), (100, "he")], [[100, "xavier"], (100.0, "he")])
    with pytest.raises(CheckFailed, match="expected: "):
        check_equal("rows", [(100, "he"), (100, "xavier")], [(100, "xavier"), (100, "he")],
                    hint="xavier first")
    with pytest.raises(CheckFailed, match="plain data"):
        check_equal("rows", [LiesAboutEverything()], [1])


def test_values_that_look_equal_when_short_are_shown_with_every_digit() -> None:
    def nudges(x: np.ndarray) -> None:
        x[2] = x[2] + 1e-5 - 1e-5  # 0.5 + 1e-5 - 1e-5 is 0.49999999999999994

    with pytest.raises(CheckFailed) as failure:
        check_inputs_unchanged("numerical_gradient(f, x)", nudges, np.array([1.0, -2.0, 0.5]))
    message = str(failure.value)
    assert "expected: [ 1. , -2. ,  0.5]" in message
    assert "got:      [ 1.                 , -2.                 ,  0.49999999999999994]" in message


def test_a_shape_failure_gets_a_shape_hint_not_the_value_hint() -> None:
    with pytest.raises(CheckFailed) as failure:
        check_array("entropy(uniform on 7)", [1.9459], 1.9459, rtol=0, atol=1e-4,
                    hint="the maximum entropy is log k.")
    assert "hint:     return a single number" in str(failure.value)
    assert "log k" not in str(failure.value)
    with pytest.raises(CheckFailed, match="hint:     sum over the last axis"):
        check_array("entropy(P)", np.ones((2, 1)), np.ones(2), rtol=0, atol=0,
                    shape_hint="sum over the last axis")


def test_check_inputs_unchanged_looks_inside_dicts_and_lists() -> None:
    def restores_with_round_off(params: dict, rows: list) -> None:
        params["W"][0] = params["W"][0] + 0.1 - 0.1  # 0.3 comes back as 0.30000000000000004

    params = {"W": np.array([0.3, 1.0]), "b": np.zeros(2)}
    with pytest.raises(CheckFailed, match="argument 1 was modified in place"):
        check_inputs_unchanged("report(params)", restores_with_round_off, params, [np.ones(1)])
    check_inputs_unchanged("report(params)", lambda p, r: None, params, [np.ones(1)])


def test_which_part_names_the_first_part_that_is_wrong_or_raises() -> None:
    def raises() -> bool:
        raise ValueError("broken")

    assert which_part([("a", lambda: True), ("b", lambda: False)], "rest") == "b"
    assert which_part([("a", raises), ("b", lambda: False)], "rest") == "a"
    assert which_part([("a", lambda: True), ("b", lambda: np.True_)], "rest") == "rest"


def test_a_callable_hint_is_called_only_when_the_check_fails() -> None:
    calls = []

    def hint() -> str:
        calls.append(1)
        return "condition_number is wrong"

    check_close("kappa", 3.0, 3.0, rtol=0, atol=0, hint=hint)
    assert calls == []
    with pytest.raises(CheckFailed, match="hint:     condition_number is wrong"):
        check_close("kappa", 3.5, 3.0, rtol=0, atol=0, hint=hint)


def test_result_of_only_names_a_call() -> None:
    assert result_of("f(2)", lambda x, k=1: x * k, 2, k=3) == 6


def test_check_same_values_accepts_any_order_within_atol() -> None:
    check_same_values("eigenvalues", [3.0, 1.0 + 1e-9, 2.0], np.array([1.0, 2.0, 3.0]), atol=1e-6)
    check_same_values("eigenvalues", [1j, -1j], [-1j, 1j], atol=1e-9)  # complex pairs


def test_check_same_values_matches_values_one_to_one() -> None:
    check_same_values("values", [2, 1, 1], [1, 1, 2], atol=1e-9)  # duplicates, reordered
    # Every returned value is near some expected value, but one 1 is missing and a 2 is extra.
    with pytest.raises(CheckFailed, match="1 values have no match"):
        check_same_values("values", [1, 2, 2], [1, 1, 2], atol=1e-9)
    with pytest.raises(CheckFailed, match="2 values have no match"):
        check_same_values("values", [1, 1, 1], [1, 2, 3], atol=1e-9)


def test_check_same_values_never_matches_nan() -> None:
    with pytest.raises(CheckFailed, match="1 values have no match"):
        check_same_values("values", [float("nan"), 1.0], [1.0, 2.0], atol=1e-9)


def test_check_same_values_counts_the_values() -> None:
    with pytest.raises(CheckFailed, match="wrong number of values"):
        check_same_values("values", [1, 2], [1, 2, 3], atol=1e-9)
