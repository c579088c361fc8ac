"""Student content rendered by nbconvert is inert, and honest content survives (safe_html.py).

The browser test (tests/browser/test_hostile_content.py) proves it end to end; these check
each rule on its own, through the same nbconvert HTMLExporter the formgrader builds from the
course's configuration.
"""

from __future__ import annotations

import base64
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_markdown_cell, new_notebook, new_output

from dlmath.course import load_config, repository_root
from dlmath.rendering.safe_html import (
    ID_PREFIX,
    SanitizeNotebook,
    clean_html,
    escape_resources,
    sanitize_output,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "grader_tests"))
from attacks import TINY_PNG, hostile_content  # noqa: E402

ACTIVE_TAGS = {"script", "iframe", "frame", "object", "embed", "svg", "math", "style", "link",
               "meta", "base", "form", "input", "button", "textarea", "video", "audio", "source"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "srcdoc", "xlink:href"}


class _Active(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            url = re.sub(r"[\s\x00-\x1f]", "", value or "").lower()
            if name.startswith("on") or (name in URL_ATTRIBUTES and
                                         url.startswith(("javascript:", "vbscript:", "data:text"))):
                self.found.append(f"<{tag} {name}={(value or '')[:20]}>")


def active_parts(html: str) -> list[str]:
    """The elements and attributes of ``html`` that could run or load something (its text,
    such as math that mentions javascript:, is not active)."""
    parser = _Active()
    parser.feed(html)
    return parser.found


@pytest.fixture(scope="module")
def exporter() -> HTMLExporter:
    """An HTMLExporter configured as the course configures the formgrader's and feedback's."""
    return HTMLExporter(config=load_config(repository_root()))


def render_body(exporter: HTMLExporter, nb: nbformat.NotebookNode) -> str:
    """The part of the rendered page that shows the notebook's cells."""
    html, _ = exporter.from_notebook_node(nb)
    return html[html.index("<body"):]


def test_clean_html_removes_every_markdown_payload_of_the_corpus() -> None:
    markdown = [c for c in hostile_content() if c.where == "markdown"]
    assert len(markdown) >= 25
    for content in markdown:
        cleaned = clean_html(markdown2html_mistune(content.content))
        assert not active_parts(cleaned), f"{content.name}: {cleaned}"
        urls = re.findall(r'(?:href|src)="([^"]*)"', cleaned)
        assert not [u for u in urls if "pwned" in u], f"{content.name} keeps a URL: {cleaned}"


def test_clean_html_keeps_tables_code_math_links_and_embedded_images() -> None:
    honest = ('<table><tr><th style="text-align:right">lr</th></tr></table>'
              '<div class="highlight"><pre><span class="n">x</span></pre></div>'
              '<p>$a &lt; b$</p><a href="https://numpy.org">numpy</a>'
              f'<img src="data:image/png;base64,{TINY_PNG}" alt="plot">')
    cleaned = clean_html(honest)
    for kept in ('style="text-align:right"', 'class="highlight"', 'class="n"', "$a &lt; b$",
                 'href="https://numpy.org"', f"data:image/png;base64,{TINY_PNG}"):
        assert kept in cleaned, f"{kept!r} was lost: {cleaned}"


def test_clean_html_loads_nothing_from_elsewhere_and_prefixes_ids() -> None:
    cleaned = clean_html('<img src="https://tracker.example/x.png"><img src="/logout">'
                         '<h2 id="score">Title</h2><a href="#score">up</a>'
                         '<p style="position:fixed;background:url(/x)" class="score">x</p>')
    assert "tracker" not in cleaned and "logout" not in cleaned
    assert f'id="{ID_PREFIX}score"' in cleaned and f'href="#{ID_PREFIX}score"' in cleaned
    assert "position" not in cleaned and "url(" not in cleaned and "class=" not in cleaned


def test_outputs_keep_only_what_cannot_run() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="1"/></svg>'
    as_image = sanitize_output(new_output("display_data", data={"image/svg+xml": svg}))
    encoded = base64.b64encode(svg.encode()).decode()
    assert as_image.data == {"text/html": f'<img src="data:image/svg+xml;base64,{encoded}" '
                                          'alt="SVG image">'}
    script = sanitize_output(new_output("display_data", data={
        "application/javascript": "alert(1)", "text/plain": "<Javascript object>"}))
    assert script.data == {"text/plain": "<Javascript object>"}
    widget = sanitize_output(new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"}}))
    assert "output not shown" in widget.data["text/plain"]
    forged = sanitize_output(new_output("display_data", data={
        "image/png": 'x" onerror="alert(1)', "text/plain": "plot"},
        metadata={"image/png": {"width": "1 onload=alert(1)"}}))
    assert forged.data == {"text/plain": "plot"} and forged.metadata == {}
    plot = sanitize_output(new_output("display_data", data={"image/png": TINY_PNG},
                                      metadata={"image/png": {"width": 640.0, "height": "x"}}))
    assert plot.data == {"image/png": TINY_PNG}
    assert plot.metadata == {"image/png": {"width": 640}}
    markdown = sanitize_output(nbformat.from_dict({  # not valid nbformat: from a forged message
        "output_type": "execute_result", "execution_count": "<b>1</b>", "metadata": {},
        "data": {"text/markdown": "**bold** <img src=x onerror=alert(1)>"}}))
    assert "<strong>bold</strong>" in markdown.data["text/html"]
    assert not active_parts(markdown.data["text/html"]) and markdown.execution_count is None


def test_notebook_metadata_attachments_and_ids_are_cut_to_safe_values() -> None:
    written = new_markdown_cell("![sketch](attachment:sketch.png) ![evil](attachment:evil.svg)")
    written.attachments = {"sketch.png": {"image/png": TINY_PNG},
                           "evil.svg": {"image/svg+xml": "PHN2Zz48L3N2Zz4="},
                           'x" onerror="': {"image/png": TINY_PNG}}
    written.metadata = {"nbgrader": {"grade_id": "written", "grade": True, "points": 2,
                                     "solution": True, "evil": "<script>"},
                        "tags": ["ok", '"><script>'], "custom": {"html": "<script>"}}
    code = nbformat.from_dict({"cell_type": "code", "source": "1", "id": 'bad id"<>',
                               "metadata": {}, "execution_count": None, "outputs": [
                                   {"output_type": "stream", "name": 'stdout" onclick="x',
                                    "text": "hi"}]})
    nb = nbformat.from_dict({"nbformat": 4, "nbformat_minor": 5, "cells": [written, code],
                             "metadata": {
                                 "widgets": {"application/vnd.jupyter.widget-state+json": {}},
                                 "kernelspec": {"name": "python3",
                                                "display_name": "Python 3 (ipykernel)"}}})
    nb, _ = SanitizeNotebook().preprocess(nb, {})
    assert set(nb.metadata) == {"kernelspec", "language_info"}
    assert list(nb.cells[0].attachments) == ["sketch.png"]
    assert nb.cells[0].metadata == {"nbgrader": {"grade_id": "written", "grade": True,
                                                 "points": 2, "solution": True},
                                    "tags": ["ok"]}
    assert re.fullmatch(r"[A-Za-z0-9_-]+", nb.cells[1].id)
    assert nb.cells[1].outputs[0].name == "stdout"
    nbformat.validate(nb)


def test_formgrader_page_names_are_escaped() -> None:
    resources = {"student": "s1", "first_name": "<img src=x onerror=alert(1)>",
                 "last_name": "O'Brien", "nbgrader": {"student": "s1"}}
    escape_resources(resources)
    assert resources["first_name"] == "&lt;img src=x onerror=alert(1)&gt;"
    assert resources["last_name"] == "O&#x27;Brien"


def test_course_exporter_renders_markdown_payloads_inert_and_math_intact(
        exporter: HTMLExporter) -> None:
    cells = [new_markdown_cell(c.content) for c in hostile_content() if c.where == "markdown"]
    cells.append(new_markdown_cell("| lr | y |\n|---:|---:|\n| 0.1 | $-1$ |\n\n$$a < b$$"))
    body = render_body(exporter, new_notebook(cells=cells))
    assert not active_parts(body), active_parts(body)[:5]
    assert "$$a &lt; b$$" in body and '<td style="text-align:right">0.1</td>' in body


def test_course_exporter_survives_markdown_it_cannot_render(exporter: HTMLExporter) -> None:
    # nbconvert raises for an attachment that does not exist; the page must still render.
    body = render_body(exporter, new_notebook(cells=[new_markdown_cell(
        "![x](attachment:missing.png) <img src=x onerror=alert(1)>")]))
    assert "attachment:missing.png" in body and not active_parts(body)
