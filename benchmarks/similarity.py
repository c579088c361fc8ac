"""Precision, recall and time of ``dlmath similarity`` on simulated classes with planted copies.

The classes come from ``tests/similarity_class.py``: every honest student writes every task
their own way (a starting point drawn from the harness's answers, their own habits of
structure, then their own names, comments, prints and numbers); copiers take another
student's answer cells and disguise them (every variable renamed, functions reordered and
moved between cells, comments and prints added, every number changed), a fifth of them
writing one task themselves. A tenth of a class are copiers, a fifth of those copying a
student someone else copied too (a ring of three is three pairs).

The one threshold, ``chance_pairs`` (see ``dlmath.reports.similarity.evidence_needed``), is
chosen on a *development* class (``--dev-seed``): the largest value from a short list whose
flagged pairs have a precision of at least 0.9 over the five assignments. Precision and recall are
then measured on a fresh *test* class (``--seed``), which the choice never saw. Then, for a
class of ``--scale`` submissions of one assignment, the time of the whole comparison and of
finding the pairs with the indexes and LSH against scoring all n (n - 1) / 2 pairs (the
naive method; "pairs found": pairs with anything in common).

    .venv/bin/python benchmarks/similarity.py                  # 200 a class, 2,000 at scale
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from dlmath.course import assignment_ids, repository_root
from dlmath.reports.similarity import (
    AssignmentReport,
    Pair,
    Settings,
    compare_assignment,
    evidence_needed,
    is_flagged,
    score_pairs,
)

sys.path[:0] = [str(repository_root()), str(repository_root() / "tests")]  # grader_tests, tests
from similarity_class import ClassBuilder, Coincidence, coincidence, copy_truth  # noqa: E402

CHANCE_PAIRS = (0.25, 0.5, 1.0, 2.0, 5.0)
Pairs = set[frozenset[str]]


class Clock:
    """Wall and CPU seconds of a block (the machine may be shared: CPU time is what the
    work costs, wall time what it took here)."""

    def __enter__(self) -> Clock:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def __str__(self) -> str:
        return f"{self.wall:.1f} s wall, {self.cpu:.1f} s CPU"


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        shutil.rmtree(folder)


def simulate(folder: Path, assignment: str, size: int, seed: int
             ) -> tuple[ClassBuilder, Pairs, Pairs]:
    """Write a class of ``size`` submissions of ``assignment``; return it, the copied pairs
    and those of them with a partial copier (who wrote a task themselves)."""
    copied = max(1, size // 10)
    rings = copied // 5
    builder = ClassBuilder(folder, assignment, seed=seed)
    students = builder.build(size - copied - rings, copied, rings=rings, partial=copied // 5)
    partial = {s.student_id for s in students if s.own}
    truth = copy_truth(students)
    return builder, truth, {p for p in truth if p & partial}


def flagged_at(report: AssignmentReport, ranked: list[Pair], settings: Settings) -> Pairs:
    needed = evidence_needed(len(report.submissions), settings)
    return {frozenset((p.a, p.b)) for p in ranked if is_flagged(p, settings, needed)}


def candidates(report: AssignmentReport, settings: Settings, all_pairs: bool = False
               ) -> list[Pair]:
    return score_pairs(list(report.submissions.values()), report.weights, report.unit_weights,
                       settings, all_pairs)


def counts(flagged: Pairs, truth: Pairs) -> tuple[int, int, int]:
    """(copied pairs flagged, pairs flagged, copied pairs)."""
    return len(flagged & truth), len(flagged), len(truth)


def ratios(hits: int, flagged: int, truth: int) -> tuple[float, float]:
    """Precision and recall."""
    return (hits / flagged if flagged else 1.0), (hits / truth if truth else 1.0)


def run_class(size: int, seed: int) -> list[tuple[str, AssignmentReport, list[Pair], Pairs,
                                                   Pairs, Coincidence]]:
    """Per assignment: its report, its candidate pairs, the copied pairs, those with a
    partial copier, and how often honest pairs hand in the same normalised code."""
    out = []
    for assignment in assignment_ids(repository_root()):
        with scratch("similarity-") as folder:
            builder, truth, partial = simulate(folder, assignment, size, seed)
            honest = [s for s in builder.answers if s.startswith("h")]
            same = coincidence(builder, honest)
            report = compare_assignment(folder, assignment)
        out.append((assignment, report, candidates(report, Settings()), truth, partial, same))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200, help="class size per assignment")
    parser.add_argument("--scale", type=int, default=2000, help="submissions at scale")
    parser.add_argument("--dev-seed", type=int, default=11, help="the class choosing the bar")
    parser.add_argument("--seed", type=int, default=2026, help="the class measured")
    args = parser.parse_args()

    print(f"development class (seed {args.dev_seed}), {args.students} submissions an "
          f"assignment: flagged pairs over the five assignments")
    print(f"{'chance_pairs':>12}{'flagged':>9}{'precision':>11}{'recall':>8}")
    dev = run_class(args.students, args.dev_seed)
    chosen = CHANCE_PAIRS[0]
    for chance in CHANCE_PAIRS:
        settings = replace(Settings(), chance_pairs=chance)
        total = [sum(x) for x in zip(*(counts(flagged_at(r, ranked, settings), truth)
                                       for _, r, ranked, truth, _, _ in dev), strict=True)]
        precision, recall = ratios(*total)
        print(f"{chance:>12}{total[1]:>9}{precision:>11.3f}{recall:>8.3f}")
        if precision >= 0.9:
            chosen = chance
    settings = replace(Settings(), chance_pairs=chosen)
    print(f"chosen: chance_pairs = {chosen}\n")

    print(f"test class (seed {args.seed}), chance_pairs = {chosen}:")
    print("same task: the share of honest pairs handing in the same normalised code for the "
          "task where that is commonest; same notebook: for every task")
    print(f"{'assignment':<26}{'submissions':>12}{'same task':>10}{'same notebook':>14}"
          f"{'planted pairs':>15}"
          f"{'flagged':>9}{'precision':>11}{'recall':>8}{'bar':>6}")
    total, partial_found = [0, 0, 0], [0, 0]
    for assignment, report, ranked, truth, partial, same in run_class(args.students, args.seed):
        flagged = flagged_at(report, ranked, settings)
        found = counts(flagged, truth)
        total = [a + b for a, b in zip(total, found, strict=True)]
        partial_found = [partial_found[0] + len(flagged & partial),
                         partial_found[1] + len(partial)]
        precision, recall = ratios(*found)
        bar = evidence_needed(len(report.submissions), settings)
        print(f"{assignment:<26}{len(report.submissions):>12}{max(same.tasks.values()):>10.3f}"
              f"{same.notebook:>14.4f}{len(truth):>15}"
              f"{found[1]:>9}{precision:>11.3f}{recall:>8.3f}{bar:>6.1f}")
    precision, recall = ratios(*total)
    print(f"{'all five':<26}{'':>36}{total[2]:>15}{total[1]:>9}{precision:>11.3f}"
          f"{recall:>8.3f}")
    whole = [total[0] - partial_found[0], total[2] - partial_found[1]]
    print(f"recall of whole copies {whole[0]}/{whole[1]}, of partial copies (the copier wrote "
          f"one task themselves) {partial_found[0]}/{partial_found[1]}")

    assignment = "ex1_ill_conditioned_gd"
    with scratch("similarity-scale-") as folder:
        with Clock() as built:
            _, truth, _ = simulate(folder, assignment, args.scale, args.seed)
        with Clock() as whole:
            report = compare_assignment(folder, assignment, settings)
    n = len(report.submissions)
    with Clock() as index_clock:
        indexed = candidates(report, settings)
    with Clock() as naive_clock:
        naive = candidates(report, settings, all_pairs=True)
    flagged, naive_flagged = flagged_at(report, indexed, settings), flagged_at(report, naive,
                                                                               settings)
    print(f"\n{n} submissions of {assignment}, test seed ({len(truth)} planted pairs; class "
          f"written in {built})")
    print(f"dlmath similarity {assignment} (read, normalise, fingerprint, pairs): {whole}")
    print(f"{'finding the pairs':<32}{'pairs found':>13}{'wall s':>8}{'CPU s':>8}{'flagged':>9}"
          f"{'precision':>11}{'recall':>8}")
    for name, pairs, clock, chosen_pairs in (
            ("indexes + MinHash LSH (dlmath)", indexed, index_clock, flagged),
            ("all pairs (naive)", naive, naive_clock, naive_flagged)):
        precision, recall = ratios(*counts(chosen_pairs, truth))
        print(f"{name:<32}{len(pairs):>13}{clock.wall:>8.1f}{clock.cpu:>8.1f}"
              f"{len(chosen_pairs):>9}{precision:>11.3f}{recall:>8.3f}")
    print(f"same pairs flagged: {flagged == naive_flagged}")


if __name__ == "__main__":
    main()
