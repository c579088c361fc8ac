"""The course secret: made once, private, and a clear error when it is missing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from traitlets.config import Config

from dlmath.variants import SHARED, VariantError
from dlmath.variants.derive import student_key
from dlmath.variants.secret import ensure_secret, key_for, read_secret


def test_the_secret_is_created_once_readable_by_the_owner_only(tmp_path: Path) -> None:
    path = ensure_secret(tmp_path, Config())
    assert path == tmp_path / ".course_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = read_secret(tmp_path, Config())
    assert len(secret) == 32
    ensure_secret(tmp_path, Config())
    assert read_secret(tmp_path, Config()) == secret  # never replaced
    assert key_for(tmp_path, Config(), "alice") == student_key(secret, "alice")
    assert key_for(tmp_path, Config(), "alice") != key_for(tmp_path, Config(), "bob")


def test_a_missing_secret_names_the_file_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(VariantError, match=r"course secret .*\.course_secret is missing.*"
                                           r"`dlmath release` creates it.*restore it"):
        key_for(tmp_path, Config(), "alice")
    (tmp_path / ".course_secret").write_text("abcd\n")
    with pytest.raises(VariantError, match="holds only 2 bytes: restore it"):
        key_for(tmp_path, Config(), "alice")


def test_one_setting_turns_variants_off(tmp_path: Path) -> None:
    config = Config({"StudentVariants": {"enabled": False}})
    assert key_for(tmp_path, config, "alice") == SHARED  # no secret needed either
