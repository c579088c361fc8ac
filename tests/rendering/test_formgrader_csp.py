"""The formgrader's Content-Security-Policy (formgrader_csp.py): what it allows, and where.

The browser test (tests/browser/test_hostile_content.py) shows that under it the formgrader
still works and no injected script runs; these pin down the policy itself.
"""

from __future__ import annotations

import base64
import hashlib

from tornado.httputil import HTTPHeaders, HTTPServerRequest

from dlmath.rendering.formgrader_csp import (
    FormgraderContentSecurityPolicy,
    content_security_policy,
    template_event_handlers,
)

PAGE = """<!DOCTYPE html><html><head><script src="/formgrader/static/js/a.js"></script>
<script>var submission_id = "abc";</script></head>
<body><span onclick="toggle_name(true);"></span><script>steal()</script></body></html>"""


def sha(text: str) -> str:
    """A CSP source expression for ``text``."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def directive(policy: str, name: str) -> str:
    """The value of directive ``name`` in ``policy``."""
    return next(part.strip()[len(name):].strip() for part in policy.split(";")
                if part.strip().startswith(name + " "))


def test_head_scripts_and_nbgrader_handlers_are_allowed_and_nothing_else() -> None:
    policy = content_security_policy(PAGE, "http://127.0.0.1:8888", "/")
    scripts = directive(policy, "script-src")
    assert sha('var submission_id = "abc";') in scripts
    assert sha("steal()") not in scripts  # an inline script in the body (student content)
    assert "toggle_name(true);" in template_event_handlers()
    assert sha("toggle_name(true);") in scripts and "'unsafe-hashes'" in scripts
    assert "'unsafe-inline'" not in scripts
    assert "http://127.0.0.1:8888/formgrader/static/" in scripts
    for name, value in (("object-src", "'none'"), ("base-uri", "'none'"), ("frame-src", "'none'"),
                        ("form-action", "'self'"), ("default-src", "'none'")):
        assert directive(policy, name) == value


def test_a_page_without_body_gets_no_policy() -> None:
    assert content_security_policy("<p>streamed", "http://h", "/") is None


def _transform(path: str, content_type: str = "text/html; charset=UTF-8",
               existing: str = "") -> HTTPHeaders:
    request = HTTPServerRequest(method="GET", uri=path, host="127.0.0.1:8888")
    headers = HTTPHeaders({"Content-Type": content_type})
    if existing:
        headers["Content-Security-Policy"] = existing
    cls = type("T", (FormgraderContentSecurityPolicy,), {"base_url": "/user/ta/"})
    _, headers, _ = cls(request).transform_first_chunk(200, headers, PAGE.encode(), True)
    return headers


def test_the_transform_sets_the_policy_on_formgrader_pages_only() -> None:
    policy = _transform("/user/ta/formgrader/submissions/abc/").get("Content-Security-Policy")
    assert policy and "http://127.0.0.1:8888/user/ta/formgrader/static/" in policy
    assert "Content-Security-Policy" not in _transform("/user/ta/lab")
    assert "Content-Security-Policy" not in _transform("/user/ta/formgrader/static/x.html")
    assert "Content-Security-Policy" not in _transform("/user/ta/formgrader/api/x",
                                                       "application/json")


def test_the_servers_frame_ancestors_are_kept() -> None:
    # JupyterHub sets its own frame-ancestors; the formgrader must stay embeddable there.
    headers = _transform("/user/ta/formgrader/", existing="frame-ancestors 'self' https://hub")
    assert directive(headers["Content-Security-Policy"], "frame-ancestors") == \
        "'self' https://hub"
