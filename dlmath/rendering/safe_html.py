"""Student content rendered as inert HTML, in every page nbconvert renders for the course.

A submission reaches the instructor's browser through pages built by nbconvert: the
formgrader's submission view, the feedback pages, and plain ``jupyter nbconvert``. nbconvert
inserts markdown cells' raw HTML and ``text/html``, SVG and JavaScript outputs as they are, so
a written answer holding ``<img src=x onerror=...>`` runs script in the instructor's Jupyter
session (and with it the instructor's API: files, kernels, grades). Two pieces plug into
nbconvert's ``HTMLExporter`` through ``nbgrader_config.py``, so the formgrader and plain
``nbgrader generate_feedback`` use them as well as ``dlmath feedback``:

* :class:`SanitizeNotebook` (a preprocessor) reduces every output to what cannot run:
  plain text, LaTeX (escaped by the templates), PNG/JPEG/GIF images whose bytes really are
  images, SVG as an ``<img>`` data URL (browsers run no script and load nothing in an SVG
  image), and HTML or markdown passed through :func:`clean_html`. JavaScript, widget views
  and unknown types are dropped with a note. Cell and notebook metadata are cut to the keys
  and types the templates use, attachments to real images, and the names and paths of the
  page (``resources``) are HTML-escaped.
* :class:`SanitizedMarkdown` (the ``markdown2html`` filter) renders markdown as nbconvert
  does and passes the HTML through :func:`clean_html`: markdown cells, ``text/markdown``
  outputs and graders' comments.

:func:`clean_html` is nh3 (the Rust sanitiser ammonia) with an allow-list that keeps what
honest work needs: text, headings, lists, tables (with alignment), code with its syntax
colours, math (MathJax reads it from the text), links to http(s) and mailto, and images
embedded as data URLs (plots, pasted images). No element can run script, load anything from
elsewhere, submit a form, restyle the page outside its own box, or reuse an id or class the
grading page relies on (ids get the prefix ``user-content-``).
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import uuid
from typing import Any

import nh3
from jinja2 import pass_context
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_output
from pygments.token import STANDARD_TYPES
from traitlets.config import LoggingConfigurable

ID_PREFIX = "user-content-"
# Raster images an output or attachment may hold, by the bytes they must start with.
IMAGE_SIGNATURES = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
_DATA_IMAGE = re.compile(r"data:(image/(?:png|jpeg|gif|svg\+xml));base64,([A-Za-z0-9+/=\s]*)\Z",
                         re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # cell ids, grade ids, tags
_LINK_SCHEMES = {"http", "https", "mailto"}

# The classes rendered markdown and code use: syntax colours (pygments' token classes),
# heading anchors, pandas tables. Nothing the grading page's scripts look for.
_TOKEN_CLASSES = {name for name in STANDARD_TYPES.values() if name}
_ALLOWED_CLASSES = {
    "span": _TOKEN_CLASSES,
    "div": {"highlight"},
    "a": {"anchor-link"},
    "table": {"dataframe"},
}
_TAGS = set(nh3.ALLOWED_TAGS) - {"area", "map"}
_ATTRIBUTES = {
    **{tag: set(attributes) for tag, attributes in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"id", "title", "lang", "dir", "style"},
    "table": {*nh3.ALLOWED_ATTRIBUTES["table"], "border"},
}
# Style properties that cannot load anything or move a box out of its place.
_STYLE_PROPERTIES = {"text-align", "vertical-align", "color", "background-color",
                     "font-weight", "font-style", "text-decoration", "white-space"}


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    """Keep a URL only if it is a link to http(s)/mailto or an embedded image."""
    if attribute == "src":
        return value if tag == "img" and _DATA_IMAGE.match(value.strip()) else None
    if attribute in ("href", "cite") and not value.startswith("#"):
        scheme = value.split(":", 1)[0].strip().lower() if ":" in value else ""
        return value if scheme in _LINK_SCHEMES else None
    return value


def _relative_url(url: str) -> str | None:
    """Relative URLs: only links to an anchor of the page (a heading's own link)."""
    if url.startswith("#") and not url.startswith("#" + ID_PREFIX):
        return "#" + ID_PREFIX + url[1:]
    return url if url.startswith("#") else None


_CLEANER = nh3.Cleaner(
    tags=_TAGS, clean_content_tags={"script", "style"}, attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter, url_schemes=_LINK_SCHEMES | {"data"},
    allowed_classes=_ALLOWED_CLASSES, filter_style_properties=_STYLE_PROPERTIES,
    url_relative=_relative_url, id_prefix=ID_PREFIX, link_rel="noopener noreferrer nofollow")


def clean_html(fragment: str) -> str:
    """``fragment`` with everything active removed (see the module docstring).

    Math written for MathJax survives: it is text.
    """
    return _CLEANER.clean(str(fragment))


class SanitizedMarkdown(LoggingConfigurable):
    """nbconvert's ``markdown2html`` filter, with its HTML passed through :func:`clean_html`.

    Configured as ``c.HTMLExporter.filters = {"markdown2html": ...}``; nbconvert creates it
    with the exporter as its parent, whose own markdown rendering (attachments, anchors,
    math) it reuses. Markdown that cannot be rendered (an ``attachment:`` that does not
    exist, say) shows as escaped text instead of breaking the page.
    """

    # Jinja passes the template context (the cell, for its attachments): as pass_context does.
    jinja_pass_arg = pass_context(lambda: None).jinja_pass_arg

    def __call__(self, context: Any, source: str) -> str:
        """The sanitized HTML of the markdown ``source``."""
        render = getattr(self.parent, "markdown2html", None)
        try:
            rendered = render(context, source) if render else markdown2html_mistune(source)
        except Exception:  # noqa: BLE001 - any markdown at all must leave the page usable
            return f"<pre>{html.escape(str(source))}</pre>"
        return clean_html(rendered)


def _image_bytes(mime: str, data: Any) -> bool:
    """Whether ``data`` is base64 of an image of type ``mime`` (by its first bytes)."""
    if not isinstance(data, str):
        return False
    try:
        raw = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(IMAGE_SIGNATURES[mime])


def _svg_as_image(svg: Any) -> str | None:
    if not isinstance(svg, str):
        return None
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img src="data:image/svg+xml;base64,{encoded}" alt="SVG image">'


def _markdown_as_html(text: Any) -> str:
    return clean_html(markdown2html_mistune(str(text)))


def _dimension(value: Any) -> int | None:
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 < number < 100_000 else None


def _image_metadata(metadata: Any, kept: set[str]) -> dict[str, Any]:
    """Only the width and height (positive integers) of the images kept."""
    result = {}
    if isinstance(metadata, dict):
        for mime in kept & set(IMAGE_SIGNATURES):
            entry = metadata.get(mime)
            if isinstance(entry, dict):
                size = {k: _dimension(entry[k]) for k in ("width", "height") if k in entry}
                size = {k: v for k, v in size.items() if v is not None}
                if size:
                    result[mime] = size
    return result


def _count(value: Any) -> int | None:
    return value if type(value) is int else None


def sanitize_output(output: Any) -> NotebookNode | None:
    """One output reduced to inert data, or None if nothing of it can be shown safely."""
    if not isinstance(output, dict):
        return None
    kind = output.get("output_type")
    if kind == "stream":
        name = output.get("name") if output.get("name") in ("stdout", "stderr") else "stdout"
        return new_output("stream", name=name, text=str(output.get("text", "")))
    if kind == "error":
        traceback = output.get("traceback")
        return new_output("error", ename=str(output.get("ename", "")),
                          evalue=str(output.get("evalue", "")),
                          traceback=[str(line) for line in traceback]
                          if isinstance(traceback, list) else [])
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data") if isinstance(output.get("data"), dict) else {}
    safe: dict[str, str] = {}
    for mime in ("text/plain", "text/latex"):
        if isinstance(data.get(mime), str):
            safe[mime] = data[mime]
    for mime in IMAGE_SIGNATURES:
        if _image_bytes(mime, data.get(mime)):
            safe[mime] = "".join(data[mime].split())
    if "text/html" in data:
        safe["text/html"] = clean_html(data["text/html"])
    elif "text/markdown" in data:
        safe["text/html"] = _markdown_as_html(data["text/markdown"])
    elif "image/svg+xml" in data and _svg_as_image(data["image/svg+xml"]):
        safe["text/html"] = _svg_as_image(data["image/svg+xml"])
    dropped = sorted(set(data) - set(safe) - {"text/markdown", "image/svg+xml"})
    if dropped and not safe:
        safe["text/plain"] = f"[output not shown: {', '.join(map(str, dropped))[:200]}]"
    if not safe:
        return None
    fields: dict[str, Any] = {"data": safe, "metadata": _image_metadata(output.get("metadata"),
                                                                      set(safe))}
    if kind == "execute_result":
        fields["execution_count"] = _count(output.get("execution_count"))
    return new_output(kind, **fields)


_NBGRADER_FIELDS: dict[str, tuple[type, ...]] = {
    "grade": (bool,), "solution": (bool,), "locked": (bool,), "task": (bool,),
    "points": (int, float), "score": (int, float), "schema_version": (int,),
    "checksum": (str,), "cell_type": (str,), "comment": (str,),
}


def _nbgrader_metadata(meta: Any) -> dict[str, Any] | None:
    """nbgrader's cell metadata with only its own keys, of their own types, and a safe id."""
    if not isinstance(meta, dict) or not _SAFE_NAME.match(str(meta.get("grade_id", ""))):
        return None
    kept = {"grade_id": meta["grade_id"]}
    for key, types in _NBGRADER_FIELDS.items():
        value = meta.get(key)
        if isinstance(value, types) and not (isinstance(value, bool) and bool not in types):
            kept[key] = value
    return kept


def _cell_metadata(meta: Any) -> dict[str, Any]:
    if not isinstance(meta, dict):
        return {}
    kept: dict[str, Any] = {}
    nbgrader = _nbgrader_metadata(meta.get("nbgrader"))
    if nbgrader:
        kept["nbgrader"] = nbgrader
    tags = meta.get("tags")
    if isinstance(tags, list):
        kept["tags"] = [tag for tag in tags if isinstance(tag, str) and _SAFE_NAME.match(tag)]
    for key in ("editable", "deletable", "collapsed"):
        if isinstance(meta.get(key), bool):
            kept[key] = meta[key]
    jupyter = meta.get("jupyter")
    if isinstance(jupyter, dict):
        kept["jupyter"] = {k: v for k, v in jupyter.items()
                           if k in ("source_hidden", "outputs_hidden") and isinstance(v, bool)}
    return kept


def _attachments(attachments: Any) -> dict[str, dict[str, str]]:
    """Attachments that are real raster images, under names that are plain file names."""
    kept = {}
    if isinstance(attachments, dict):
        for name, bundle in attachments.items():
            if not isinstance(name, str) or not re.fullmatch(r"[\w.\- ]{1,100}", name) \
                    or not isinstance(bundle, dict):
                continue
            images = {mime: "".join(data.split()) for mime, data in bundle.items()
                      if mime in IMAGE_SIGNATURES and _image_bytes(mime, data)}
            if images:
                kept[name] = images
    return kept


def _notebook_metadata(meta: Any) -> dict[str, Any]:
    """The kernel's and language's names (strings), as nbformat requires them; nothing else
    (no widget state: nbconvert would load a widget manager that renders it as HTML)."""
    meta = meta if isinstance(meta, dict) else {}
    kept: dict[str, Any] = {}
    for key, fields in (("kernelspec", ("name", "display_name", "language")),
                        ("language_info", ("name", "version", "mimetype", "file_extension",
                                           "pygments_lexer", "nbconvert_exporter"))):
        entry = meta.get(key) if isinstance(meta.get(key), dict) else {}
        kept[key] = {f: entry[f][:100] for f in fields if isinstance(entry.get(f), str)}
    kept["kernelspec"].setdefault("name", "python3")
    kept["kernelspec"].setdefault("display_name", kept["kernelspec"]["name"])
    kept["language_info"].setdefault("name", "python")
    return kept


# Values the formgrader's submission page prints unescaped: the student's id and names
# (from the LMS, where students set their display names) and paths built from them.
# (``resources["nbgrader"]`` is left alone: feedback's preprocessors look the student up by it.)
_RESOURCE_TEXT = ("student", "first_name", "last_name", "notebook_path", "filename")


def escape_resources(resources: dict[str, Any]) -> None:
    """HTML-escape, in place, the names and paths nbgrader's templates print as they are."""
    for key in _RESOURCE_TEXT:
        if isinstance(resources.get(key), str):
            resources[key] = html.escape(resources[key])


class SanitizeNotebook(Preprocessor):
    """Make a notebook safe to render as HTML (see the module docstring).

    An HTMLExporter preprocessor: it changes only the copy nbconvert renders, never a file.
    """

    def preprocess(self, nb: NotebookNode,
                   resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        """Sanitize every cell, the notebook's metadata, and the page's names."""
        nb.metadata = NotebookNode(_notebook_metadata(nb.get("metadata")))
        cells = []
        for cell in nb.get("cells", []):
            if isinstance(cell, dict) and cell.get("cell_type") in ("code", "markdown", "raw"):
                cells.append(self._cell(cell))
        nb.cells = cells
        if isinstance(resources, dict):
            escape_resources(resources)
        return nb, resources

    @staticmethod
    def _cell(cell: NotebookNode) -> NotebookNode:
        source = cell.get("source", "")
        cell.source = "".join(source) if isinstance(source, list) else str(source)
        if not _SAFE_NAME.match(str(cell.get("id", ""))):
            cell.id = uuid.uuid4().hex[:8]
        cell.metadata = NotebookNode(_cell_metadata(cell.get("metadata")))
        if cell.cell_type == "code":
            outputs = cell.get("outputs") if isinstance(cell.get("outputs"), list) else []
            cell.outputs = [safe for safe in map(sanitize_output, outputs) if safe is not None]
            cell.execution_count = _count(cell.get("execution_count"))
        elif cell.cell_type == "markdown":
            attachments = _attachments(cell.get("attachments"))
            cell.pop("attachments", None)
            if attachments:
                cell.attachments = attachments
        else:  # raw cells are shown as HTML by the HTML templates
            cell.source = clean_html(cell.source)
        return cell
