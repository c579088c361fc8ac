"""``dlmath similarity``: planted copies are found, honest work is not flagged, the page is inert.

The classes are simulated (``tests/similarity_class.py``): honest students write each task their
own way from the harness's answers; copiers disguise another student's answer cells. A class of
~30 takes seconds.
"""

from __future__ import annotations

import random
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from dlmath.cli.main import main
from dlmath.course import assignment_ids
from dlmath.reports.similarity import (
    Cell,
    Release,
    Settings,
    compare,
    compare_assignment,
    evidence_needed,
    normalise,
    render_html,
)
from dlmath.variants import SHARED, identity

sys.path.insert(0, str(Path(__file__).parents[1]))  # tests/: similarity_class
from similarity_class import (  # noqa: E402
    REPO,
    REWRITES,
    ClassBuilder,
    change_numbers,
    copy_truth,
    disguise,
    restyle,
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
    """30 honest students of ex1 and 4 copiers: three of different students (one of them
    writing one task themselves), one more of a copied student (a cluster of three)."""
    course = _course(tmp_path_factory.mktemp("planted"))
    students = ClassBuilder(course, EX1, seed=7).build(30, 3, rings=1, partial=1)
    return course, copy_truth(students)


def test_planted_copies_are_found_and_nothing_else(planted, capsys) -> None:
    course, truth = planted
    assert len(truth) == 5  # two copier-original pairs and a ring of three
    assert main(["--course", str(course), "similarity", EX1]) == 1
    out, err = capsys.readouterr()
    assert _flagged(course, EX1) == truth
    assert f"{EX1}: 34 submissions, 5 pairs flagged (evidence above 6.3;" in out
    assert "Clusters of three or more:" in out
    assert "5 pairs flagged for review" in err
    assert (course / "similarity.html").is_file()


def test_a_copy_adapted_to_the_copiers_numbers_is_found(tmp_path: Path) -> None:
    course = _course(tmp_path)
    builder = ClassBuilder(course, EX1, seed=3)
    builder.build(26, 0)
    original = "h00003"
    numbers_changed = [change_numbers(s, random.Random(1)) for s in builder.answers[original]]
    assert numbers_changed != builder.answers[original]
    builder.write("copier", numbers_changed)
    # Only the copy is asserted: in a class this small an honest pair may cross the bar too
    # (this one has one, 0.1 nats above it; the benchmark measures precision).
    assert frozenset((original, "copier")) in _flagged(course, EX1)


@pytest.mark.parametrize("assignment", [EX1, EX4])
def test_the_harness_class_is_not_flagged(tmp_path: Path, assignment: str, capsys) -> None:
    """Every harness variant as written (short, similar answers to the same task), and two
    more students who both hand in the natural solution exactly: nobody is flagged."""
    course = _course(tmp_path)
    builder = ClassBuilder(course, assignment, seed=1)
    for index, variant in enumerate(builder.variants):
        builder.harness(f"s{index:03d}", variant)
    builder.harness("natural1", builder.variants[0])
    builder.harness("natural2", builder.variants[0])
    assert main(["--course", str(course), "similarity", assignment]) == 0
    assert "0 pairs flagged" in capsys.readouterr().out


def test_cosmetic_changes_normalise_away() -> None:
    release = nbformat.read(REPO / "release" / EX1 / f"{EX1}.ipynb", as_version=4)
    original = [
        "def _clip(v, lo=0.5):\n    return max(v, lo)\n\n\n"
        "def steps_to_tolerance(path, tol=1e-6):\n"
        "    '''Docstring.'''\n"
        "    norms = np.linalg.norm(path, axis=1)  # distances\n"
        "    hits = np.flatnonzero(norms < _clip(tol))\n"
        "    return int(hits[0]) if hits.size else None\n",
    ]
    copied = disguise(original, {"steps_to_tolerance", "np"}, random.Random(1))
    text = normalise([Cell("a", s) for s in original], Release(release)).text
    assert copied != original
    assert copied[0].startswith("def steps_to_tolerance"), "the functions are reordered"
    assert normalise([Cell("a", s) for s in copied], Release(release)).text == text
    assert "v0" in text and "#" in text and "numpy.linalg.norm" in text


@pytest.mark.parametrize("assignment", assignment_ids(REPO))
def test_every_disguised_copy_normalises_to_its_original(tmp_path: Path,
                                                         assignment: str) -> None:
    """Renamed variables and helpers, functions reordered and moved to another cell,
    comments, prints and numbers added or changed: the normalised text is the original's."""
    builder = ClassBuilder(tmp_path, assignment, seed=4)
    students = builder.build(6, 3, rings=1)
    release = Release(builder.release_nb)

    def text(student: str) -> str:
        return normalise([Cell(str(i), s) for i, s in enumerate(builder.answers[student])],
                         release).text

    copies = [s for s in students if s.copied_from]
    assert len(copies) == 4
    for copy in copies:
        assert builder.answers[copy.student_id] != builder.answers[copy.copied_from]
        assert text(copy.student_id) == text(copy.copied_from), copy


def _functions(*bodies: int) -> Cell:
    """A cell of helper functions, one per number i in ``bodies``, returning x added to itself
    i times (so each normalises to a statement of its own)."""
    return Cell("answer", "\n\n".join(f"def f{i}(x):\n    return x{' + x' * i}"
                                      for i in bodies))


@pytest.mark.parametrize(("shared", "flagged"), [(1, False), (3, True)])
def test_a_pair_is_flagged_when_its_shared_statements_are_too_rare_for_chance(
        shared: int, flagged: bool) -> None:
    """20 students with three functions nobody else wrote; two of them also share
    ``shared`` more. Each shared one weighs log(20 / 2) = 2.3 nats; the bar is log(190) =
    5.25 (one chance pair expected among the 190): one is chance, three are not."""
    release = nbformat.read(REPO / "release" / EX1 / f"{EX1}.ipynb", as_version=4)
    cells = {f"s{k:02d}": [_functions(*range(10 + 3 * k, 13 + 3 * k))] for k in range(20)}
    common = range(200, 200 + shared)
    cells["s00"] = [_functions(*range(10, 13), *common)]
    cells["s01"] = [_functions(*range(13, 16), *common)]
    report = compare(EX1, cells, release)
    assert report.evidence_needed == pytest.approx(5.25, abs=0.01)
    pair = next(p for p in compare(EX1, cells, release, Settings(chance_pairs=1e9)).flagged
                if {p.a, p.b} == {"s00", "s01"})
    assert pair.evidence == pytest.approx(shared * 2.303, abs=0.01)
    assert pair.score < Settings().min_score  # not flagged for sharing most of its code
    assert [(p.a, p.b) for p in report.flagged] == ([("s00", "s01")] if flagged else [])


def test_evidence_needed_grows_with_the_class() -> None:
    assert evidence_needed(200, Settings()) == pytest.approx(9.90, abs=0.01)
    assert evidence_needed(2000, Settings()) > evidence_needed(200, Settings())
    assert evidence_needed(200, Settings(chance_pairs=2)) == pytest.approx(9.21, abs=0.01)


@pytest.mark.parametrize("assignment", [EX1, "ex3_gradient_checking", EX4,
                                        "ex5_condition_numbers"])
def test_the_honest_rewrites_keep_the_visible_tests_passing(tmp_path: Path, assignment: str,
                                                           monkeypatch) -> None:
    """The simulated honest students compute what the reference computes: the reference
    with every rewrite wherever it applies passes the release notebook's tests, run in
    order. (ex2's tests take a minute: left out.)"""
    builder = ClassBuilder(tmp_path, assignment)
    reference = builder.cells[0]
    restyled = [restyle(s, random.Random(0), dict.fromkeys(REWRITES, 1.0)) for s in reference]
    assert sum(a != b for a, b in zip(reference, restyled, strict=True)) >= 2
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # A student's kernel knows whose numbers it computes with (dlmath/variants).
    monkeypatch.setenv(identity.ENVIRONMENT, SHARED)
    monkeypatch.chdir(REPO / "release" / assignment)
    answers = iter(restyled)
    namespace: dict[str, object] = {}
    for cell in builder.release_nb.cells:
        if cell.cell_type == "code":
            is_answer = cell.metadata.get("nbgrader", {}).get("solution", False)
            exec(compile(next(answers) if is_answer else cell.source, cell.metadata.get(
                "nbgrader", {}).get("grade_id", "cell"), "exec"), namespace)  # noqa: S102


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
