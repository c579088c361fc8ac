"""How a student's call is shown when their function raised inside a check."""

from __future__ import annotations

import numpy as np

from dlmath.judge.failures import describe_call


def test_a_visible_call_shows_its_arguments_without_memory_addresses() -> None:
    shown = describe_call("init_weights", (4, "xavier", np.random.default_rng(1)), {},
                          hidden=False)
    assert shown == "init_weights(4, 'xavier', Generator(PCG64))"


def test_a_hidden_call_shows_only_the_kinds_of_its_arguments() -> None:
    shown = describe_call("max_stable_lr", (np.eye(3),), {}, hidden=True)
    assert shown == "max_stable_lr(...) on a hidden input: a float64 array of shape (3, 3)"
