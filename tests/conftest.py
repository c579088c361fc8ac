"""Set-up every test process needs: nbgrader runs ``alembic`` by name when it creates a
gradebook, so this interpreter's tools go on PATH, as the ``dlmath`` command puts them."""

import os

from dlmath.course import tools_on_path

tools_on_path(os.environ)
