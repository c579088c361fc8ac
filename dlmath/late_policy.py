"""The course's late-submission policy, as an nbgrader LateSubmissionPlugin.

nbgrader's ``AssignLatePenalties`` (run by autograde) asks the configured plugin for a penalty
whenever ``timestamp.txt`` is later than the assignment's due date, and stores it in the
gradebook; feedback and every export subtract it. nbgrader itself offers only "none" and
"zero". This policy deducts a fraction of the score per started day late, after a grace
period, and gives 0 past a cut-off. The numbers are set in ``nbgrader_config.py``.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float

DAY = 86400.0


class LatePenaltyPolicy(LateSubmissionPlugin):
    """A per-day late penalty: ``per_day`` of the score for each started day after the grace."""

    per_day = Float(0.1, help="Fraction of the score deducted for each started day late "
                              "(0.1: 10% a day).").tag(config=True)
    grace_minutes = Float(15.0, help="Lateness forgiven entirely (clock skew, slow uploads)."
                          ).tag(config=True)
    max_days = Float(7.0, help="Submissions more than this many days late score 0."
                     ).tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        """Points to deduct from ``score`` for a submission ``total_seconds_late`` late."""
        late = total_seconds_late - 60.0 * self.grace_minutes
        if late <= 0:
            return 0.0
        days = math.ceil(late / DAY)
        if total_seconds_late > self.max_days * DAY:
            return score
        return min(score, score * self.per_day * days)
