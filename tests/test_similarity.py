"""``dlmath similarity``: planted copies are found, honest work is not flagged, the page is inert.

The classes are simulated (``tests/similarity_class.py``): honest students hand in the harness's
variants; copiers disguise another student's answer cells. A class of ~30 takes seconds.
"""

from __future__ import annotations

import random
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from dlmath.cli import main
from dlmath.similarity import (
    Cell,
    Settings,
    compare,
    compare_assignment,
    normalise,
    render_html,
)

sys.path.insert(0, str(Path(__file__).parent))
from similarity_class import (  # noqa: E402
    REPO,
    ClassBuilder,
    change_numbers,
    copy_truth,
    disguise,
)

EX1 = "ex1_ill_conditioned_gd"
EX4 = "ex4_entropy_over_epochs"


def _course(tmp_path: Path) -> Path:
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "source", course / "source")
    return course


def _flagged(course: Path, assignment: str) -> set[frozenset[str]]:
    return {frozenset((p.a, p.b)) for p in compare_assignment(course, assignment).flagged}


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[frozenset[str]]]:
    """30 honest students of ex1 (every harness variant, then mixed answers) and 4 copiers:
    three of different students, one more of a copied student (a cluster of three)."""
    course = _course(tmp_path_factory.mktemp("planted"))
    students = ClassBuilder(course, EX1, seed=7).build(30, 3, style=0.5, rings=1)
    return course, copy_truth(students)


def test_planted_copies_are_found_and_nothing_else(planted, capsys) -> None:
    course, truth = planted
    assert len(truth) == 5  # two copier-original pairs and a ring of three
    assert main(["--course", str(course), "similarity", EX1]) == 1
    out, err = capsys.readouterr()
    assert _flagged(course, EX1) == truth
    assert f"{EX1}: 34 submissions, 5 pairs flagged" in out
    assert "Clusters of three or more:" in out
    assert "5 pairs flagged for review" in err
    assert (course / "similarity.html").is_file()


def test_a_copy_adapted_to_the_copiers_numbers_is_found(tmp_path: Path) -> None:
    course = _course(tmp_path)
    builder = ClassBuilder(course, EX1, seed=3)
    builder.build(26, 0, style=0.5)
    original = "h00003"
    numbers_changed = [change_numbers(s, random.Random(1)) for s in builder.answers[original]]
    assert numbers_changed != builder.answers[original]
    builder._write("copier", numbers_changed)
    assert _flagged(course, EX1) == {frozenset((original, "copier"))}


@pytest.mark.parametrize("assignment", [EX1, EX4])
def test_the_harness_class_is_not_flagged(tmp_path: Path, assignment: str, capsys) -> None:
    """Every harness variant as written (short, similar answers to the same task), and two
    more students who both hand in the natural solution exactly: nobody is flagged."""
    course = _course(tmp_path)
    builder = ClassBuilder(course, assignment, seed=1)
    for index, variant in enumerate(builder.variants):
        builder.honest(f"s{index:03d}", variant, style=0)
    builder.honest("natural1", builder.variants[0], style=0)
    builder.honest("natural2", builder.variants[0], style=0)
    assert main(["--course", str(course), "similarity", assignment]) == 0
    assert "0 pairs flagged" in capsys.readouterr().out


def test_cosmetic_changes_normalise_away() -> None:
    release = nbformat.read(REPO / "release" / EX1 / f"{EX1}.ipynb", as_version=4)
    from dlmath.similarity import _Release

    original = [
        "def _clip(v, lo=0.5):\n    return max(v, lo)\n\n\n"
        "def steps_to_tolerance(path, tol=1e-6):\n"
        "    '''Docstring.'''\n"
        "    norms = np.linalg.norm(path, axis=1)  # distances\n"
        "    hits = np.flatnonzero(norms < _clip(tol))\n"
        "    return int(hits[0]) if hits.size else None\n",
    ]
    copied = disguise(original, {"steps_to_tolerance", "np"}, random.Random(1))
    text = normalise([Cell("a", s) for s in original], _Release(release)).text
    assert copied != original
    assert copied[0].startswith("def steps_to_tolerance"), "the functions are reordered"
    assert normalise([Cell("a", s) for s in copied], _Release(release)).text == text
    assert "v0" in text and "#" in text and "numpy.linalg.norm" in text


HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


class _Elements(HTMLParser):
    """Every element and attribute a browser would build from the page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def test_student_text_on_the_page_is_escaped() -> None:
    """Markup in code, in student ids and in names from the roster stays text."""
    release = nbformat.read(REPO / "release" / EX1 / f"{EX1}.ipynb", as_version=4)
    code = ("def max_stable_lr(H):\n    s = '</pre>" + HOSTILE + "'\n"
            "    w = np.linalg.eigvalsh(np.asarray(H, dtype=float))\n"
            "    if w.min() <= 0:\n        raise ValueError('<marquee onmouseover=alert(2)>x')\n"
            "    return 2.0 / w.max()  # <svg onload=alert(3)>\n")
    other = "def max_stable_lr(H):\n    return 2 / max(np.linalg.eigvals(H).real)\n"
    cells = {HOSTILE: [Cell("answer_max_stable_lr", code)],
             "s2": [Cell("answer_max_stable_lr", code)],
             "s3": [Cell("answer_max_stable_lr", other)]}
    report = compare(EX1, cells, release, Settings(min_shared=1, uncommon_count=2))
    assert report.flagged, "the two identical submissions must be flagged to be shown"
    page = render_html([report], names={"s2": HOSTILE})
    parser = _Elements()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags
    assert "svg" not in parser.tags and "marquee" not in parser.tags
    assert not [a for a in parser.attributes if a.startswith("on")]
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    assert page.count("&lt;img src=x onerror=alert(1)&gt;") >= 4  # id and name, both sides
    assert "script-src" not in page and "default-src 'none'" in page


def test_unreadable_and_misnamed_submissions_are_listed(planted, tmp_path: Path,
                                                        capsys) -> None:
    course, _ = planted
    broken = course / "submitted" / "s_broken" / EX1 / f"{EX1}.ipynb"
    hostile = course / "submitted" / "<img src=x onerror=alert(1)>" / EX1 / f"{EX1}.ipynb"
    for path in (broken, hostile):
        path.parent.mkdir(parents=True)
    broken.write_text("{not json", encoding="utf-8")
    shutil.copy(course / "submitted" / "h00001" / EX1 / f"{EX1}.ipynb", hostile)
    try:
        page = tmp_path / "page.html"
        assert main(["--course", str(course), "similarity", "--to", str(page), EX1]) == 1
        err = capsys.readouterr().err
        assert "NOT COMPARED: ex1_ill_conditioned_gd 's_broken': " in err
        assert "is not a readable notebook" in err
        assert "NOT COMPARED: ex1_ill_conditioned_gd '<img src=x onerror=alert(1)>'" in err
        assert "onerror=alert" not in page.read_text(encoding="utf-8").replace(
            "&lt;img src=x onerror=alert(1)&gt;", "")
    finally:
        shutil.rmtree(broken.parent.parent)
        shutil.rmtree(hostile.parent.parent)


def test_usage_errors_exit_2(planted, capsys) -> None:
    course, _ = planted
    assert main(["--course", str(course), "similarity", "ex9_nothing"]) == 2
    assert "unknown assignment 'ex9_nothing'" in capsys.readouterr().err
    assert main(["--course", str(course), "similarity", "--threshold", "0", EX1]) == 2
    assert "--threshold is a percentage" in capsys.readouterr().err
