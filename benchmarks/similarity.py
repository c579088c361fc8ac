"""Precision, recall and time of ``dlmath similarity`` on simulated classes with planted copies.

The classes come from ``tests/similarity_class.py``: honest students hand in the harness's
variants (each once) or mix the harness's answers task by task, each in their own style
(cosmetic habits and small rewrites); copiers take another student's answer cells and disguise
them (every variable renamed, functions reordered, comments and prints added, every number
changed). In one run it prints:

* per assignment, a class of ``--students`` (a tenth of them copiers, a fifth of those copying
  a student someone else copied too): pairs flagged, precision and recall of the flagged
  pairs against the planted ones (a ring of three is three pairs);
* for a class of ``--scale`` submissions of one assignment, the time to read, normalise and
  fingerprint, and to find the pairs with the index and LSH against scoring all n (n - 1) / 2
  pairs (the naive method), and whether both flag the same pairs.

    .venv/bin/python benchmarks/similarity.py                  # 200 a class, 2,000 at scale
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from dlmath.course import assignment_ids, repository_root
from dlmath.similarity import Settings, compare_assignment, is_flagged, score_pairs

sys.path.insert(0, str(repository_root() / "tests"))
from similarity_class import ClassBuilder, copy_truth  # noqa: E402


def simulate(folder: Path, assignment: str, size: int, style: float, seed: int
             ) -> set[frozenset[str]]:
    """Write a class of ``size`` submissions of ``assignment``; return the copied pairs."""
    copied = max(1, size // 10)
    rings = copied // 5
    builder = ClassBuilder(folder, assignment, seed=seed)
    students = builder.build(size - copied - rings, copied, style, rings=rings)
    return copy_truth(students)


def precision_recall(flagged: set[frozenset[str]], truth: set[frozenset[str]],
                     ) -> tuple[float, float]:
    """Precision and recall of ``flagged`` pairs against the ``truth``."""
    hits = len(flagged & truth)
    return (hits / len(flagged) if flagged else 1.0), (hits / len(truth) if truth else 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=200, help="class size per assignment")
    parser.add_argument("--scale", type=int, default=2000, help="submissions at scale")
    parser.add_argument("--style", type=float, default=0.5,
                        help="probability of each honest rewrite (0: none)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    settings = Settings()
    print(f"settings: {settings}")
    print(f"{'assignment':<26}{'submissions':>12}{'planted pairs':>15}{'flagged':>9}"
          f"{'precision':>11}{'recall':>8}{'closest unflagged':>19}")
    totals = [0, 0, 0]
    for assignment in assignment_ids(repository_root()):
        folder = Path(tempfile.mkdtemp(prefix="similarity-"))
        try:
            truth = simulate(folder, assignment, args.students, args.style, args.seed)
            report = compare_assignment(folder, assignment, settings)
        finally:
            shutil.rmtree(folder)
        flagged = {frozenset((p.a, p.b)) for p in report.flagged}
        precision, recall = precision_recall(flagged, truth)
        honest = report.closest_unflagged.score if report.closest_unflagged else 0.0
        totals = [totals[0] + len(flagged & truth), totals[1] + len(flagged),
                  totals[2] + len(truth)]
        print(f"{assignment:<26}{len(report.submissions):>12}{len(truth):>15}"
              f"{len(flagged):>9}{precision:>11.3f}{recall:>8.3f}{honest:>18.0%}")
    print(f"{'all five':<26}{'':>12}{totals[2]:>15}{totals[1]:>9}"
          f"{totals[0] / max(totals[1], 1):>11.3f}{totals[0] / max(totals[2], 1):>8.3f}")

    assignment = "ex1_ill_conditioned_gd"
    folder = Path(tempfile.mkdtemp(prefix="similarity-scale-"))
    try:
        started = time.perf_counter()
        truth = simulate(folder, assignment, args.scale, args.style, args.seed)
        built = time.perf_counter() - started
        started = time.perf_counter()
        report = compare_assignment(folder, assignment, settings)
        total = time.perf_counter() - started
    finally:
        shutil.rmtree(folder)
    submissions = list(report.submissions.values())
    started = time.perf_counter()
    indexed = score_pairs(submissions, report.weights, settings)
    index_seconds = time.perf_counter() - started
    started = time.perf_counter()
    naive = score_pairs(submissions, report.weights, settings, all_pairs=True)
    naive_seconds = time.perf_counter() - started
    flagged = {frozenset((p.a, p.b)) for p in indexed if is_flagged(p, settings)}
    naive_flagged = {frozenset((p.a, p.b)) for p in naive if is_flagged(p, settings)}
    precision, recall = precision_recall(flagged, truth)
    n = len(submissions)
    print(f"\n{n} submissions of {assignment} ({len(truth)} planted pairs; class written in "
          f"{built:.0f} s)")
    print(f"dlmath similarity {assignment} (read, normalise, fingerprint, pairs): {total:.1f} s")
    print(f"{'finding the pairs':<40}{'pairs scored':>14}{'seconds':>9}{'flagged':>9}"
          f"{'precision':>11}{'recall':>8}")
    print(f"{'index + MinHash LSH (dlmath)':<40}{len(indexed):>14}{index_seconds:>9.1f}"
          f"{len(flagged):>9}{precision:>11.3f}{recall:>8.3f}")
    naive_precision, naive_recall = precision_recall(naive_flagged, truth)
    print(f"{'all pairs (naive)':<40}{n * (n - 1) // 2:>14}{naive_seconds:>9.1f}"
          f"{len(naive_flagged):>9}{naive_precision:>11.3f}{naive_recall:>8.3f}")
    print(f"same pairs flagged: {flagged == naive_flagged}")
    identical = [p for p in indexed if p.score >= 0.999 and frozenset((p.a, p.b)) not in truth]
    print(f"honest pairs whose normalised code is identical (no detector can tell them from a "
          f"copy): {len(identical)}")


if __name__ == "__main__":
    main()
