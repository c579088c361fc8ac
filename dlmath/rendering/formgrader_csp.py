"""A Content-Security-Policy on the formgrader's pages: a second layer under ``safe_html``.

The formgrader shows students' notebooks inside the instructor's Jupyter session, so a script
that slipped through the sanitiser could use that session. This Jupyter server extension
(enabled by ``jupyter-config/jupyter_server_config.d/dlmath.json``, installed with the course
package) adds a policy to every HTML page under ``/formgrader/`` that lets only the
formgrader's own scripts run:

* scripts from the formgrader's static folder and MathJax's CDN folder;
* the inline scripts of the page's ``<head>`` (nbgrader's templates put theirs there; student
  content is in the ``<body>``), by their SHA-256 hashes, computed per response;
* the inline event handlers nbgrader's own templates contain (``'unsafe-hashes'``), read from
  the installed templates; any other handler, ``javascript:`` URL or inline script is refused;
* ``'unsafe-eval'``, because MathJax 2 evaluates its inline configuration block;
* no plugins, no frames, no ``<base>``, forms only to the server, images and fonts only from
  the formgrader and data URLs, connections only to the server (and MathJax's version check).

It is a tornado output transform, first in the application's list (it must read the page
before compression), so it needs no change to nbgrader. Pages streamed in several chunks
cannot be hashed; none of the formgrader's are, and such a page would get no policy (and a
warning in the server log).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import logging
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tornado.httputil import HTTPHeaders, HTTPServerRequest
from tornado.web import OutputTransform

# nbconvert's MathJax macro (nbgrader's formgrade template) loads MathJax 2 from cdnjs, whose
# latest.js asks api.cdnjs.com for the newest 2.x.
MATHJAX_SOURCE = "https://cdnjs.cloudflare.com/ajax/libs/mathjax/"
MATHJAX_VERSION_CHECK = "https://api.cdnjs.com"

log = logging.getLogger(__name__)


class _HeadScripts(HTMLParser):
    """Collects the text of the inline ``<script>`` elements before ``<body>``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.in_body = False
        self._current: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.in_body = True
        elif tag == "script" and not self.in_body and not dict(attrs).get("src"):
            self._current = []

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._current.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._current is not None:
            self.scripts.append("".join(self._current))
            self._current = None


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return f"'sha256-{digest}'"


@functools.cache
def template_event_handlers() -> frozenset[str]:
    """The inline event handlers (``onclick="..."``) in nbgrader's formgrader templates."""
    import nbgrader.server_extensions.formgrader as formgrader

    folder = Path(formgrader.__file__).parent / "templates"
    handlers: set[str] = set()
    for template in folder.rglob("*"):
        if template.is_file() and template.suffix in (".tpl", ".j2"):
            text = template.read_text(encoding="utf-8", errors="replace")
            handlers.update(re.findall(r'\son[a-z]+="([^"]*)"', text))
    return frozenset(handlers)


def content_security_policy(page: str, origin: str, base_url: str,
                            frame_ancestors: str = "'self'") -> str | None:
    """The policy for one formgrader page, or None if the page has no ``<body>``.

    ``origin`` is the server's scheme and host (``http://127.0.0.1:8888``); ``base_url`` the
    server's base URL path (``/`` or ``/user/ta/``).
    """
    parser = _HeadScripts()
    parser.feed(page)
    if not parser.in_body:
        return None
    static = f"{origin}{base_url.rstrip('/')}/formgrader/static/"
    hashes = sorted({_sha256(script) for script in parser.scripts}
                    | {_sha256(handler) for handler in template_event_handlers()})
    return "; ".join([
        "default-src 'none'",
        f"script-src {static} {MATHJAX_SOURCE} 'unsafe-eval' 'unsafe-hashes' {' '.join(hashes)}",
        f"style-src {static} {MATHJAX_SOURCE} 'unsafe-inline'",
        f"img-src {static} data:",
        f"font-src {static} {MATHJAX_SOURCE} data:",
        f"connect-src 'self' {MATHJAX_VERSION_CHECK}",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
        "frame-src 'none'",
        f"frame-ancestors {frame_ancestors}",
    ])


class FormgraderContentSecurityPolicy(OutputTransform):
    """Adds :func:`content_security_policy` to the formgrader's HTML responses."""

    base_url = "/"

    def __init__(self, request: HTTPServerRequest) -> None:
        super().__init__(request)
        self.request = request

    def transform_first_chunk(self, status_code: int, headers: HTTPHeaders, chunk: bytes,
                              finishing: bool) -> tuple[int, HTTPHeaders, bytes]:
        """Set the header on a formgrader page written in one piece."""
        path = self.request.path
        formgrader = f"{self.base_url.rstrip('/')}/formgrader/"
        if not path.startswith(formgrader) or path.startswith(formgrader + "static/") \
                or not headers.get("Content-Type", "").startswith("text/html"):
            return status_code, headers, chunk
        if not finishing:
            log.warning("dlmath: %s was streamed; it gets no Content-Security-Policy", path)
            return status_code, headers, chunk
        ancestors = re.search(r"frame-ancestors ([^;]+)",
                              headers.get("Content-Security-Policy", ""))
        policy = content_security_policy(
            chunk.decode("utf-8", errors="replace"),
            f"{self.request.protocol}://{self.request.host}", self.base_url,
            ancestors.group(1).strip() if ancestors else "'self'")
        if policy:
            headers["Content-Security-Policy"] = policy
        return status_code, headers, chunk


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "dlmath.rendering.formgrader_csp"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Add the policy to the server's responses (Jupyter calls this at start)."""
    transform = type("FormgraderContentSecurityPolicy", (FormgraderContentSecurityPolicy,),
                     {"base_url": serverapp.base_url})
    serverapp.web_app.transforms.insert(0, transform)
