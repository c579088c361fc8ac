"""Per-student variants: every student gets their own numbers for each exercise.

A student's numbers derive from the course secret (``secret.py``, never in a notebook or a
kernel), the student's id and the assignment, through HMAC-SHA256 (``derive.py``): the
grader and ``dlmath lab`` compute the student's *key* from the secret and the id, and the
notebook's locked given cell turns the key into the exercise's parameters
(``identity.student_parameters``, the ranges in ``exercises.py``). The key of one student
tells nothing about another's, and a notebook copied from someone else is graded against the
copier's own numbers, because the grader injects the identity of the submission it grades.
"""

from dlmath.variants.derive import SHARED, VariantError
from dlmath.variants.identity import student_parameters

__all__ = ["SHARED", "VariantError", "student_parameters"]
