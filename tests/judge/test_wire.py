"""Plain data across the kernel boundary: faithful for honest values, nothing else gets through."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dlmath.judge import wire


def round_trip(value: object) -> object:
    return wire.loads(wire.dumps(value))


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, float("inf"), "text", b"bytes", 1 + 2j,
    (1, 2.0, "x"), [1, [2, 3]], {0.05: "lr", (1, 2): None, "k": [1]}, {1, 2},
])
def test_plain_values_survive_unchanged(value: object) -> None:
    back = round_trip(value)
    assert back == value and type(back) is type(value)


def test_nan_survives() -> None:
    assert np.isnan(round_trip(float("nan")))


@pytest.mark.parametrize("array", [
    np.arange(6.0).reshape(2, 3), np.array([1 + 1j, 2j]), np.array([True, False]),
    np.arange(5, dtype=np.int32), np.zeros((0, 2)), np.float32([1.5]),
])
def test_arrays_keep_values_dtype_and_shape(array: np.ndarray) -> None:
    back = round_trip(array)
    assert isinstance(back, np.ndarray) and back.dtype == array.dtype
    assert back.shape == array.shape and np.array_equal(back, array)


def test_numpy_scalars_keep_their_type() -> None:
    assert round_trip(np.True_) is np.True_
    assert type(round_trip(np.float64(0.5))) is np.float64
    assert type(round_trip(np.int64(7))) is np.int64


def test_a_generator_arrives_in_the_same_state() -> None:
    rng = np.random.default_rng(3)
    rng.standard_normal(5)
    copy = round_trip(rng)
    assert np.array_equal(copy.standard_normal(4), rng.standard_normal(4))


def test_tensors_arrive_as_tensors() -> None:
    tensor = torch.tensor([[1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    back = round_trip(tensor)
    assert isinstance(back, torch.Tensor) and back.dtype == torch.float64
    assert back.requires_grad and torch.equal(back.detach(), tensor.detach())


class LyingFloat(float):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = float.__hash__


class LyingArray(np.ndarray):
    def __eq__(self, other: object) -> bool:  # type: ignore[override]
        return True


class Liar:
    def __eq__(self, other: object) -> bool:
        return True

    def __float__(self) -> float:
        return 0.1


def test_lying_subclasses_arrive_as_the_plain_data_they_hold() -> None:
    back = round_trip(LyingFloat(2.0))
    assert type(back) is float and back == 2.0 and back != 3.0
    array = round_trip(np.arange(3.0).view(LyingArray))
    assert type(array) is np.ndarray and not np.array_equal(array, [9, 9, 9])


def test_an_object_of_unknown_kind_arrives_as_an_opaque_placeholder() -> None:
    back = round_trip(Liar())
    assert isinstance(back, wire.Opaque) and back != 0.1
    assert back.type_name.endswith("Liar")
    with pytest.raises(TypeError):
        float(back)


def test_exceptions_travel_with_their_classes_and_traceback() -> None:
    data = wire.encode(wire.Raised(ValueError("bad lr"), "Traceback ...\nValueError: bad lr"))
    assert data["types"][:2] == ["builtins.ValueError", "builtins.Exception"]
    assert data["message"] == "bad lr" and data["traceback"].endswith("bad lr")


@pytest.mark.parametrize("payload, problem", [
    ([1, 2], "untagged list"),
    ({"a": 1}, "untagged value"),
    ({"$": "pickle", "data": "gASV"}, "unknown tag"),
    ({"$": "nd", "dtype": "|O", "shape": [1], "data": ""}, "not plain data"),
    ({"$": "nd", "dtype": "<f8", "shape": [3], "data": "AAAAAAAAAAA="}, "does not match"),
    ({"$": "tuple"}, "bad field"),
])
def test_malformed_data_is_refused(payload: object, problem: str) -> None:
    with pytest.raises(wire.WireError, match=problem):
        wire.loads(json.dumps(payload))


def test_deep_nesting_is_refused() -> None:
    nested: object = 0
    for _ in range(200):
        nested = {"$": "list", "items": [nested]}
    with pytest.raises(wire.WireError, match="too deeply"):
        wire.loads(json.dumps(nested))


def test_size_is_bounded() -> None:
    with pytest.raises(wire.WireError, match="larger than"):
        wire.loads(wire.dumps(np.zeros(200_000)), max_bytes=2**20)


def test_item_count_is_bounded_before_anything_is_built() -> None:
    many = '{"$": "list", "items": [' + ",".join(["[]"] * 50) + "]}"
    with pytest.raises(wire.WireError, match="more than 10 items"):
        wire.loads(many, max_items=10)
    assert len(wire.loads(many.replace("[]", "0"), max_items=100)) == 50


def test_integers_beyond_every_float_arrive_as_placeholders() -> None:
    back = wire.loads("-" + "7" * 400)
    assert isinstance(back, wire.Opaque) and "400 digits" in back.text
    assert wire.loads("7" * 300) == int("7" * 300)


@pytest.mark.parametrize("array", [
    {"$": "nd", "dtype": "<f8", "shape": [2**62, 2**2, 0], "data": ""},
    {"$": "nd", "dtype": "<f8", "shape": [2**32, 2**32], "data": ""},
    {"$": "nd", "dtype": "not a dtype", "shape": [1], "data": ""},
    {"$": "nd", "dtype": "<f8", "shape": [1] * 40, "data": "AAAAAAAAAAA="},
])
def test_arrays_with_impossible_shapes_or_types_are_refused(array: dict) -> None:
    with pytest.raises(wire.WireError):
        wire.loads(json.dumps(array))
