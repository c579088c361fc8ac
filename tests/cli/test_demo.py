"""``dlmath demo``'s line on the simulated class's numbers (per-student variants)."""

from __future__ import annotations

import re
from pathlib import Path

from dlmath.cli.demo import simulated_class, variants_summary
from dlmath.course import copy_course, load_config, repository_root
from dlmath.variants.exercises import PARAMETERS
from dlmath.variants.secret import ensure_secret


def test_the_simulated_class_has_different_numbers_per_student(tmp_path: Path) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    ensure_secret(course, load_config(course))
    line = variants_summary(course, simulated_class(36))
    counts = dict(re.findall(r"(ex\d_\w+) (\d+)", line))
    assert set(counts) == set(PARAMETERS), line
    assert all(int(n) >= 20 for n in counts.values()), line  # 36 students, few collisions


def test_variants_off_is_said(tmp_path: Path) -> None:
    course = copy_course(repository_root(), tmp_path / "course")
    with (course / "nbgrader_config.py").open("a") as config:
        config.write("\nc.StudentVariants.enabled = False\n")
    assert variants_summary(course, simulated_class(3)) == (
        "Per-student variants are off: everybody has the same numbers.")
