"""Late work: the course's late policy, submission times, extensions.

nbgrader's ``AssignLatePenalties`` (run by autograde) asks the configured plugin for a penalty
whenever ``timestamp.txt`` is later than the assignment's due date (plus the student's
extension, if any), and stores it in the gradebook; feedback and every export subtract it.
nbgrader itself offers only "none" and "zero". :class:`LatePenaltyPolicy` deducts a fraction
of the score per started day late, after a grace period, and gives 0 past a cut-off. The
numbers are set in ``nbgrader_config.py``.

Around it: :func:`read_submission_time` reads ``timestamp.txt`` strictly (nbgrader fails on
free text and silently misreads unknown time zones), :class:`UnreadableTime` says what to do
when it cannot, :func:`penalty_basis` tells when a stored penalty is out of date, and
:func:`grant_extension` gives a student more time.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from dateutil import parser
from dateutil.tz import gettz
from nbgrader.api import Gradebook
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import AssignLatePenalties
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets import Enum, Float
from traitlets.config import Config, LoggingConfigurable

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


# -- submission times ---------------------------------------------------------------------

TIMESTAMP_FILE = "timestamp.txt"
# nbgrader's own timestamp format (its exchange writes it), read by nbgrader as it is.
CANONICAL_FORMAT = "%Y-%m-%d %H:%M:%S.%f UTC"


@dataclass(frozen=True)
class SubmissionTime:
    """What a submission's ``timestamp.txt`` says.

    ``time`` is the submission time in UTC without a time zone (as nbgrader stores it), or
    None when the file cannot be read as a time; ``problem`` then says why, in words for the
    instructor. ``nbgrader_reads_it`` is False when nbgrader's own reading
    (``nbgrader.utils.parse_utc``) would fail or give another time than the file says.
    """

    text: str
    time: datetime | None
    problem: str = ""
    nbgrader_reads_it: bool = True


def read_submission_time(folder: Path, now: datetime | None = None) -> SubmissionTime | None:
    """The time in ``folder/timestamp.txt``, or None when the folder has no such file.

    Read strictly: a full date (year, month and day), an optional time, and an optional time
    zone, named (``UTC``, ``Europe/Berlin``) or numeric (``+02:00``); without one, UTC (as
    nbgrader assumes). Free text, a date without a year, a time zone nobody knows (``CEST``
    is no tz database name) or a time after ``now`` (default: the current time) is a problem.
    """
    path = folder / TIMESTAMP_FILE
    if not path.is_file():
        return None
    text = path.read_bytes().decode("utf-8", errors="replace").strip()
    try:
        time = parse_time(text, latest=now or datetime.now(UTC).replace(tzinfo=None))
    except ValueError as problem:
        return SubmissionTime(text, None, str(problem), nbgrader_reads_it=False)
    try:
        nbgrader_time = parse_utc(text)
    except Exception:  # noqa: BLE001 - nbgrader's parser fails in many ways on odd text
        nbgrader_time = None
    return SubmissionTime(text, time, nbgrader_reads_it=nbgrader_time == time)


def parse_time(text: str, latest: datetime | None = None) -> datetime:
    """The UTC time (without a time zone, as nbgrader stores times) that ``text`` says.

    ``text`` needs a full date, may have a time and a time zone (a tz database name, UTC,
    or a numeric offset; none means UTC, as in nbgrader). Raises ValueError saying what is
    wrong: no date, part of a date, an unknown time zone, or a time after ``latest``.
    """
    if not text:
        raise ValueError("timestamp.txt is empty")
    shown = text if len(text) <= 60 else text[:57] + "..."
    words = text.split()
    named_zone = len(words) > 1 and re.fullmatch(r"[A-Za-z][A-Za-z_/+-]*", words[-1]) \
        and words[-1].upper() != "Z"
    moment = " ".join(words[:-1]) if named_zone else text
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # dateutil warns about time zones it ignores
            # Two different defaults: a field missing from the text shows as a difference.
            first, second = (parser.parse(moment, default=datetime(2000, 1, 1)),
                             parser.parse(moment, default=datetime(2001, 2, 2)))
    except (ValueError, OverflowError, Warning) as error:
        raise ValueError(f"{shown!r} is no date and time") from error
    if first != second:
        raise ValueError(f"{shown!r} has no full date (year, month and day)")
    zone = gettz(words[-1]) if named_zone else None
    if named_zone and zone is None:
        raise ValueError(f"{shown!r}: the time zone {words[-1]!r} is unknown (use UTC or a "
                         "name such as Europe/Berlin)")
    if zone is not None and first.tzinfo is None:
        first = first.replace(tzinfo=zone)
    if first.tzinfo is not None:
        first = (first - first.utcoffset()).replace(tzinfo=None)
    if latest is not None and first > latest:
        raise ValueError(f"{shown!r} is in the future")
    return first


class UnreadableTime(LoggingConfigurable):
    """What grading does with a submission whose ``timestamp.txt`` cannot be read."""

    treat_as = Enum(
        ["on time", "not final"], default_value="on time",
        help="'on time': grade it without a late penalty (the grading report and the export's "
             "status file name it); 'not final': grade it, but exports leave its grade out "
             "until timestamp.txt holds a readable time.").tag(config=True)


# -- what a late penalty was computed from -------------------------------------------------

def penalty_basis(submission: Any, config: Config) -> str:
    """What decides ``submission``'s late penalty besides its score: how late it is (after
    its due date and extension) and, if late at all, the late policy and its settings.

    ``submission`` is nbgrader's ``SubmittedAssignment``. Grading records this; when it
    differs later (the due date moved, an extension was granted, the policy changed), the
    penalty in the gradebook is out of date.
    """
    late = float(submission.total_seconds_late or 0.0)
    policy = ""
    if late > 0:
        plugin_class = AssignLatePenalties(config=config).plugin_class
        plugin = plugin_class(config=config)
        settings = {name: getattr(plugin, name) for name in plugin.trait_names(config=True)}
        policy = f"{plugin_class.__module__}.{plugin_class.__name__}{sorted(settings.items())}"
    return json.dumps({"seconds_late": late, "policy": policy})


def grant_extension(db_url: str, assignment: str, student: str,
                    until: datetime | None) -> timedelta | None:
    """Give ``student`` until ``until`` (UTC) for ``assignment``, or remove their extension
    (``until`` None), with nbgrader's own extensions (``SubmittedAssignment.extension``,
    which its late penalties already honour). Returns the extension.

    Raises ValueError when the assignment has no due date or ``until`` is not after it.
    """
    with Gradebook(db_url) as gradebook:
        duedate = gradebook.find_assignment(assignment).duedate
        if duedate is None:
            raise ValueError(f"{assignment} has no due date to extend: set one with "
                             f"nbgrader db assignment add {assignment} --duedate='...'")
        extension = None
        if until is not None:
            extension = until - duedate
            if extension <= timedelta(0):
                raise ValueError(f"{until:%Y-%m-%d %H:%M} UTC is not after the due date "
                                 f"{duedate:%Y-%m-%d %H:%M} UTC")
        gradebook.update_or_create_student(student)
        with warnings.catch_warnings():
            # nbgrader 0.9.6 under SQLAlchemy 2 warns on every new submission (see grading.py).
            warnings.simplefilter("ignore", SAWarning)
            gradebook.update_or_create_submission(assignment, student)
        gradebook.grant_extension(assignment, student,
                                  minutes=extension.total_seconds() / 60 if extension else 0)
    return extension
