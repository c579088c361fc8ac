"""The course's late policy: grace period, a fraction per started day, 0 past the cut-off."""

from __future__ import annotations

import pytest

from dlmath.course import load_config, repository_root
from dlmath.late_policy import DAY, LatePenaltyPolicy


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
    assert config.AssignLatePenalties.plugin_class == "dlmath.late_policy.LatePenaltyPolicy"
    policy = LatePenaltyPolicy(config=config)
    assert (policy.per_day, policy.grace_minutes, policy.max_days) == (0.1, 15, 7)
