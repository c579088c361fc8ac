"""nbgrader configuration for the course. Every setting that differs from nbgrader's
default says why. Plain `nbgrader ...` commands run from this folder use it, and so does
the `dlmath` command (which loads this file through nbgrader's own config loader)."""

c = get_config()  # noqa: F821 - provided by nbgrader's config loader

# The course id names the course in the gradebook and in nbgrader's exchange.
c.CourseDirectory.course_id = "dlmath"

# The gradebook is nbgrader's default, SQLite in the course folder (gradebook.db): one
# machine needs no database server. It is deliberately not set here: a relative
# "sqlite:///gradebook.db" would resolve against the current directory instead.

# Each notebook cell may run this many seconds during autograding. The slowest reference
# cell runs well under 5 s; 60 s leaves room for slow student code but stops infinite loops.
c.Execute.timeout = 60

# Safe autograding (dlmath/preprocessors/: repair.py, execute.py, manual_grades.py). The
# sanitize step adds RepairCells, which puts every nbgrader cell's flags back as the gradebook
# has them, puts back every deleted cell (nbgrader's own OverwriteCells.add_missing_cells, left
# off, fails with a KeyError when the cell before a deleted one is not graded) and records what
# a student changed; the autograde step runs SafeExecute instead of Execute: student cells run
# in a sandboxed kernel (bubblewrap, resource limits, no network, no view of the course folder)
# and test cells run in the grading process, where student code cannot change a verdict. Plain
# `nbgrader autograde` and the formgrader's button use these too.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.DeduplicateIds",
    "dlmath.preprocessors.repair.RepairCells",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.Autograde.autograde_preprocessors = [
    "dlmath.preprocessors.execute.SafeExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    # nbgrader's SaveAutoGrades, but a written answer a TA graded stays graded when the
    # submission is regraded, as long as its text is unchanged (nbgrader marks it ungraded).
    "dlmath.preprocessors.manual_grades.KeepManualGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    # (nbgrader checks the cells' metadata here again; the sanitize step above already did,
    # and nothing since changes it: left out, it saves ~30 ms a notebook.)
]
# The student kernels import these before running student code (while another notebook runs,
# under `dlmath grade`), so the notebooks' own imports cost nothing.
c.SafeExecute.preload = ["numpy", "matplotlib.pyplot"]
# The workers of `dlmath grade` fork each kernel from a zygote that has imported these once
# (torch alone costs over a second of CPU per kernel otherwise).
c.SafeExecute.zygote_preload = ["torch"]

# The released answer cells raise NotImplementedError, so a student who runs the notebook
# top to bottom sees exactly which task is next. (nbgrader's default stub, stated explicitly
# because the course's release tests rely on it.)
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"


# ---------------------------------------------------------------------------------------------
# LMS round trip (dlmath/preprocessors/feedback.py; dlmath/plugins/: late_submission.py,
# zip_collect.py, export.py). README section "Grades to your LMS" explains the workflow.
# Everything below differs from nbgrader's defaults.
# ---------------------------------------------------------------------------------------------
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader.preprocessors import GetGrades  # noqa: E402

from dlmath.preprocessors.feedback import HideHiddenTests, ProvisionalNotice  # noqa: E402

# Feedback: nbgrader's default (GetGrades, CSSHTMLHeaderPreprocessor) renders the autograded
# notebook, whose test cells autograding restored with their hidden tests, so students would
# read the hidden tests and the traceback lines quoting them. HideHiddenTests removes the hidden
# regions and reduces a test cell's traceback to the check's message; ProvisionalNotice says
# when a written answer is not graded yet (nbgrader shows it as 0).
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, ProvisionalNotice,
                                    CSSHTMLHeaderPreprocessor]

# Student content never runs in the pages nbconvert renders: the formgrader's submission view
# (the formgrader builds its HTMLExporter from this config), feedback, and `jupyter nbconvert`
# here. nbconvert inserts markdown's raw HTML and HTML/SVG/JavaScript outputs as they are, so
# a written answer like <img src=x onerror=...> would run script in the instructor's session.
# SanitizeNotebook reduces outputs, metadata and attachments to inert data; the markdown
# filter passes rendered markdown through the same nh3 allow-list (dlmath/rendering/safe_html.py).
c.HTMLExporter.preprocessors = ["dlmath.rendering.safe_html.SanitizeNotebook"]
c.HTMLExporter.filters = {"markdown2html": "dlmath.rendering.safe_html.SanitizedMarkdown"}

# Late work: nbgrader's default plugin deducts nothing (or everything). The course deducts 10%
# of the score per started day late after 15 minutes of grace, and gives 0 after 7 days. It
# applies when an assignment has a due date (`nbgrader db assignment add ID --duedate=...`)
# and a submission has a timestamp.txt (nbgrader collect; from an LMS archive only as set
# below).
c.AssignLatePenalties.plugin_class = "dlmath.plugins.late_submission.LatePenaltyPolicy"
c.LatePenaltyPolicy.per_day = 0.1
c.LatePenaltyPolicy.grace_minutes = 15
c.LatePenaltyPolicy.max_days = 7

# `nbgrader zip_collect ID` reads Canvas and Moodle "download all submissions" archives as they
# are (nbgrader's default collector needs an instructor-written regular expression). Whose file is
# whose comes from what the LMS wrote (Canvas user ids, Moodle folders), never from a student's
# file name; a student's two notebooks are never guessed between. The archives' entry times are
# no submission times (Canvas stamps the time it built the zip; Moodle the time it stored each
# file, in its server's zone), so no timestamp.txt is written from them. Both ways to late
# penalties from an archive are left off: `c.LmsCollector.canvas_late_days = N` counts work
# Canvas marks LATE as N days late, `c.LmsCollector.moodle_time_zone = "Europe/Berlin"` takes
# Moodle's file times in that zone (README, "Grades to your LMS").
c.ZipCollectApp.extractor_plugin = "dlmath.plugins.zip_collect.ArchiveExtractor"
c.ZipCollectApp.collector_plugin = "dlmath.plugins.zip_collect.LmsCollector"

# ---------------------------------------------------------------------------------------------
# A shared exchange (the course's JupyterHub, dlmath/hub/launch.py; README "A class on JupyterHub").
# ---------------------------------------------------------------------------------------------
# `nbgrader collect` (and the formgrader's Collect button) attributes a submission to the owner
# of its folder in the exchange, dates it by the folder's inode change time (which no student
# can set back), and copies only that student's regular files: nbgrader's default trusts the
# folder's name, the student-written timestamp.txt, and follows symbolic links
# (dlmath/hub/exchange.py).
c.ExchangeFactory.collect = "dlmath.hub.exchange.TrustedCollect"

# Per-student variants (dlmath/variants/): every student gets their own numbers, derived from
# the course secret (.course_secret, made by `dlmath release`, never committed) and their id.
# False gives everybody one shared variant, the exercises as written.
c.StudentVariants.enabled = True
# The first release (nbgrader generate_assignment, dlmath release) creates that secret.
from nbgrader.converters import GenerateAssignment  # noqa: E402

c.GenerateAssignment.preprocessors = [
    *GenerateAssignment.class_traits()["preprocessors"].default(),
    "dlmath.preprocessors.course_secret.CreateCourseSecret",
]
