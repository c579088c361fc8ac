"""Late work: the policy (grace period, a fraction per started day, 0 past the cut-off) and
reading timestamp.txt (strictly; extensions and stale penalties: test_field_cases.py)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from dlmath.course import load_config, repository_root
from dlmath.plugins.late_submission import (
    DAY,
    LatePenaltyPolicy,
    SubmissionTime,
    read_submission_time,
)


@pytest.mark.parametrize(("seconds_late", "penalty"), [
    (10 * 60, 0.0),            # within the 15 minutes' grace
    (20 * 60, 1.0),            # a started day: 10% of 10 points
    (DAY + 15 * 60, 1.0),      # grace is subtracted first: still one day
    (DAY + 16 * 60, 2.0),      # into the second day
    (7 * DAY, 7.0),
    (7 * DAY + 1, 10.0),       # past the cut-off: everything
])
def test_penalty(seconds_late: float, penalty: float) -> None:
    policy = LatePenaltyPolicy(per_day=0.1, grace_minutes=15, max_days=7)
    assert policy.late_submission_penalty("s1", 10.0, seconds_late) == pytest.approx(penalty)


def test_the_penalty_never_exceeds_the_score() -> None:
    policy = LatePenaltyPolicy(per_day=0.5, grace_minutes=0, max_days=30)
    assert policy.late_submission_penalty("s1", 4.0, 5 * DAY) == 4.0


def test_the_course_config_uses_it() -> None:
    config = load_config(repository_root())
    assert config.AssignLatePenalties.plugin_class == \
        "dlmath.plugins.late_submission.LatePenaltyPolicy"
    policy = LatePenaltyPolicy(config=config)
    assert (policy.per_day, policy.grace_minutes, policy.max_days) == (0.1, 15, 7)


NOW = datetime(2026, 4, 1, 12, 0)


@pytest.mark.parametrize(("text", "utc", "nbgrader_reads_it"), [
    ("2026-03-22 10:30:00.000000 UTC", datetime(2026, 3, 22, 10, 30), True),  # nbgrader's own
    ("2026-03-22 10:30:00 Europe/Berlin", datetime(2026, 3, 22, 9, 30), True),
    ("2026-03-22T10:30:00+01:00", datetime(2026, 3, 22, 9, 30), True),
    ("2026-03-22", datetime(2026, 3, 22), True),  # no time: midnight; no zone: UTC
    ("2026-03-22 12:30:00 +0200", datetime(2026, 3, 22, 10, 30), False),  # nbgrader: 200 s
    ("22 March 2026", datetime(2026, 3, 22), False),  # nbgrader: "2026" as a zone
])
def test_a_readable_time(text: str, utc: datetime, nbgrader_reads_it: bool,
                         tmp_path: Path) -> None:
    (tmp_path / "timestamp.txt").write_text(text + "\n")
    assert read_submission_time(tmp_path, now=NOW) == SubmissionTime(text, utc, "",
                                                                     nbgrader_reads_it)


@pytest.mark.parametrize(("text", "problem"), [
    ("", "timestamp.txt is empty"),
    ("submitted late, sorry - my laptop died", "is no date and time"),
    ("2026-03-22 10:30:00.000000 CEST", "the time zone 'CEST' is unknown"),  # nbgrader: UTC
    ("Monday", "has no full date"),  # nbgrader: this week's Monday
    ("10:30", "has no full date"),
    ("2026-04-02 09:00 UTC", "is in the future"),
])
def test_an_unreadable_time_says_why(text: str, problem: str, tmp_path: Path) -> None:
    (tmp_path / "timestamp.txt").write_text(text)
    time = read_submission_time(tmp_path, now=NOW)
    assert time is not None and time.time is None and problem in time.problem


def test_no_file_no_time(tmp_path: Path) -> None:
    assert read_submission_time(tmp_path) is None
