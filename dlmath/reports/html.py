"""The course's HTML pages, rendered from the Jinja2 templates in ``templates/``.

Every value is autoescaped: student code, ids, names and check messages are text, never
markup (a message quoting ``<img src=x onerror=...>`` shows as those characters).
"""

from __future__ import annotations

import functools
from typing import Any

from jinja2 import Environment, PackageLoader


@functools.cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("dlmath.reports", "templates"), autoescape=True,
                       trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context: Any) -> str:
    """The page ``templates/<template>`` with ``context``'s values, escaped."""
    return _environment().get_template(template).render(**context)
