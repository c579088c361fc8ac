"""The course secret, and the one setting that turns variants off.

The secret is a file in the course folder (``StudentVariants.secret_file``), made by the first
``dlmath release`` and git-ignored: whoever has it can compute every student's numbers, so it
is never committed, never sent to a kernel, and must be kept (backed up) for the whole course:
a new secret gives every student new numbers.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from traitlets import Bool, Unicode
from traitlets.config import Config, LoggingConfigurable

from dlmath.variants.derive import SHARED, VariantError, student_key


class StudentVariants(LoggingConfigurable):
    """Per-student variants of the exercises (``c.StudentVariants.enabled`` in the config)."""

    enabled = Bool(True, help="Give every student their own numbers. False: one shared "
                   "variant for everybody (the exercises as written).").tag(config=True)
    secret_file = Unicode(".course_secret", help="The course secret, relative to the course "
                          "folder; never commit it.").tag(config=True)


def settings(config: Config) -> StudentVariants:
    """The course's variant settings from its nbgrader configuration."""
    return StudentVariants(config=config)


def secret_path(course_root: Path, config: Config) -> Path:
    """Where the course keeps its secret."""
    return course_root / settings(config).secret_file


def ensure_secret(course_root: Path, config: Config) -> Path:
    """Create the course secret (32 random bytes, readable by the owner only) if missing."""
    path = secret_path(course_root, config)
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="ascii") as file:
            file.write(secrets.token_hex(32) + "\n")
    return path


def read_secret(course_root: Path, config: Config) -> bytes:
    """The course secret; VariantError naming the file and the fix if it is missing or bad."""
    path = secret_path(course_root, config)
    try:
        secret = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except FileNotFoundError:
        raise VariantError(
            f"the course secret {path} is missing, so no student's numbers can be computed. "
            "`dlmath release` creates it on the first release; if you released before, "
            "restore it from your backup (a new secret gives every student new numbers), or "
            "set c.StudentVariants.enabled = False for one shared variant") from None
    except (ValueError, UnicodeDecodeError, OSError) as error:
        raise VariantError(f"the course secret {path} is unreadable ({error}): restore it "
                           "from your backup") from None
    if len(secret) < 16:
        raise VariantError(f"the course secret {path} holds only {len(secret)} bytes: restore "
                           "it from your backup")
    return secret


def course_key(course_root: Path, student: str) -> str:
    """``student``'s key with the course's own nbgrader configuration: what ``dlmath lab`` and
    the course's JupyterHub give a student's kernels (``DLMATH_VARIANT_KEY``)."""
    from dlmath.course import load_config  # nbgrader's apps: not for a kernel's import

    return key_for(course_root, load_config(course_root), student)


def key_for(course_root: Path, config: Config, student: str) -> str:
    """The variant key of ``student`` in this course (``SHARED`` when variants are off)."""
    if not settings(config).enabled:
        return SHARED
    return student_key(read_secret(course_root, config), student)
