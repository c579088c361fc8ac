"""Mutation score of every test cell: the test cells of an earlier revision beside today's.

Generates every mutant of today's reference solutions (``grader_tests/mutation.py``: Cosmic
Ray's operators and the course's own), runs each against the test cells of ``--before`` (by
default the last commit before issue 18's hidden tests) and against today's, and prints, per
test cell, how many of the mutants of the definitions it tests it kills, then the survivors of
today's tests with their triage (``grader_tests/mutation_triage.toml``). Exit status 1 when a
survivor is not triaged (it needs a test, or a reason why it is equivalent).

    .venv/bin/python benchmarks/mutation_score.py                   # all five, ~10 min on 2 cores
    .venv/bin/python benchmarks/mutation_score.py ex1_ill_conditioned_gd --before HEAD~3
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "grader_tests")]  # grader_tests.students, attacks

from mutation import (  # noqa: E402
    Cell,
    Mutant,
    all_mutants,
    load_triage,
    notebook_cells,
    run_many,
    run_mutants,
    test_cell_names,
    tested_definitions,
)

from dlmath.course import assignment_ids  # noqa: E402

# The last commit before issue 18 changed the test cells.
BEFORE = "8717b21"


def source_notebook(assignment: str, revision: str | None) -> nbformat.NotebookNode:
    """The source notebook of ``assignment`` in the work tree, or at a git ``revision``."""
    path = f"source/{assignment}/{assignment}.ipynb"
    if revision is None:
        return nbformat.read(REPO / path, as_version=4)
    text = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=REPO, check=True,
                          capture_output=True, text=True).stdout
    return nbformat.reads(text, as_version=4)


def library_at(revision: str) -> dict[str, str]:
    """The check helpers' modules at ``revision`` (the test cells of then used those)."""
    return {f"dlmath.{name}": subprocess.run(
        ["git", "show", f"{revision}:dlmath/{name}.py"], cwd=REPO, check=True,
        capture_output=True, text=True).stdout for name in ("checks", "axes")}


def with_answers(cells: list[Cell], answers: list[Cell]) -> list[Cell]:
    """``cells`` with today's reference answers, so both revisions test the same code."""
    today = {cell.name: cell for cell in answers if cell.role == "answer"}
    return [today.get(cell.name, cell) if cell.role == "answer" else cell for cell in cells]


def scores(cells: list[Cell], mutants: list[Mutant], failed: dict[str, frozenset[str]],
           ) -> dict[str, tuple[int, int]]:
    """test cell -> (mutants it kills, mutants of the definitions it tests today).

    ``cells`` are today's, so both revisions' scores count the same mutants per test cell.
    """
    tested = tested_definitions(cells, {m.definition for m in mutants})
    table = {}
    for cell in test_cell_names(cells):
        relevant = [m for m in mutants if m.definition in tested[cell]]
        table[cell] = (sum(cell in failed[m.id] for m in relevant), len(relevant))
    return table


def percent(killed: int, total: int) -> str:
    return f"{killed:3d}/{total:<3d} {100 * killed / total:4.0f}%" if total else "  -"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="default: all five")
    parser.add_argument("--before", default=BEFORE, help=f"git revision (default {BEFORE})")
    parser.add_argument("--workers", type=int, default=None, help="default: one per core")
    args = parser.parse_args(argv)
    triage = load_triage()
    started = time.perf_counter()
    untriaged = 0
    print(f"{'test cell':52s} {'before (' + args.before + ')':>16s} {'after':>16s}")
    for assignment in args.assignments or assignment_ids(REPO):
        today = source_notebook(assignment, None)
        after = notebook_cells(today)
        before = with_answers(notebook_cells(source_notebook(assignment, args.before)), after)
        mutants = all_mutants(assignment, today)
        results = {}
        for label, cells, modules in (("before", before, library_at(args.before)),
                                      ("after", after, {})):
            reference = run_many(cells, {"reference": {}}, args.workers, modules)["reference"]
            if reference:
                print(f"{assignment}: the reference fails {sorted(reference)} ({label})")
                return 2
            results[label] = run_mutants(cells, mutants, args.workers, modules)
        table = {label: scores(after, mutants, results[label]) for label in results}
        for cell in test_cell_names(after):
            print(f"{assignment[:4]} {cell:47s} {percent(*table['before'].get(cell, (0, 0))):>16s}"
                  f" {percent(*table['after'][cell]):>16s}")
        killed = {label: sum(bool(results[label][m.id]) for m in mutants) for label in results}
        print(f"{assignment[:4]} {'all mutants (killed by any test cell)':47s}"
              f" {percent(killed['before'], len(mutants)):>16s}"
              f" {percent(killed['after'], len(mutants)):>16s}")
        survivors = [m for m in mutants if not results["after"][m.id]]
        equivalent = [m for m in survivors if m.id in triage]
        if equivalent:
            print(f"    {len(equivalent)} survivors are equivalent mutants "
                  "(grader_tests/mutation_triage.toml says why)")
        for mutant in survivors:
            if mutant.id not in triage:
                untriaged += 1
                print(f"    NOT TRIAGED: {mutant.id}\n      {mutant.change}")
        print(flush=True)
    print(f"({time.perf_counter() - started:.0f} s; {untriaged} survivors not triaged)")
    return 1 if untriaged else 0


if __name__ == "__main__":
    sys.exit(main())
