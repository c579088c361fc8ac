"""Deterministic draws from a student's key, by HMAC-SHA256.

A student's *key* is ``HMAC-SHA256(course secret, student id)`` (``student_key``); each
parameter of an assignment is drawn from ``HMAC-SHA256(key, assignment + label)``, so the
draws of different assignments and parameters are independent, stable across Python and
NumPy versions (no random number generator is involved), and nobody without the secret can
compute another student's numbers from their id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from typing import TypeVar

# The key of the shared variant: everybody gets the same numbers (variants turned off).
SHARED = "shared"
_KEY = re.compile(r"[0-9a-f]{64}")

T = TypeVar("T")


class VariantError(Exception):
    """A student's numbers cannot be determined; the message says why and how to fix it."""


def student_key(secret: bytes, student: str) -> str:
    """The student's key: HMAC-SHA256 of their id under the course secret, as 64 hex digits."""
    return hmac.new(secret, b"student\0" + student.encode("utf-8"), hashlib.sha256).hexdigest()


def check_key(key: str) -> str:
    """``key`` if it is ``SHARED`` or 64 lower-case hex digits; VariantError otherwise."""
    if key != SHARED and not _KEY.fullmatch(key):
        raise VariantError(f"{key[:80]!r} is not a variant key (64 hex digits, or {SHARED!r})")
    return key


def draw(key: str, assignment: str, label: str, options: Sequence[T]) -> T:
    """One of ``options``, chosen by the key for this assignment and parameter ``label``.

    The choice is ``HMAC-SHA256(key, assignment NUL label)`` read as an integer modulo
    ``len(options)`` (256 bits, so the bias towards the first options is negligible).
    """
    digest = hmac.new(bytes.fromhex(check_key(key)), f"{assignment}\0{label}".encode(),
                      hashlib.sha256).digest()
    return options[int.from_bytes(digest, "big") % len(options)]
