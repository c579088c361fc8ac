"""``CreateCourseSecret``: the first release makes the course secret of per-student variants.

Added to nbgrader's ``GenerateAssignment`` preprocessors in ``nbgrader_config.py``, so plain
``nbgrader generate_assignment``, the formgrader's *Generate* button and ``dlmath release`` all
create it (``dlmath/variants/secret.py``); it changes no notebook.
"""

from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import NbGraderPreprocessor

from dlmath.variants.secret import ensure_secret, settings


class CreateCourseSecret(NbGraderPreprocessor):
    """Create ``.course_secret`` in the course folder if variants are on and it is missing."""

    def preprocess(self, nb: NotebookNode, resources: Any) -> tuple[NotebookNode, Any]:
        """Leave ``nb`` as it is; make sure the course secret exists."""
        if settings(self.config).enabled:
            path = ensure_secret(Path(CourseDirectory(config=self.config).root), self.config)
            self.log.debug("course secret: %s", path)
        return nb, resources
