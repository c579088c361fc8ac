"""How many students one machine's hub serves: concurrent logins and fetches on loopback.

Starts `dlmath hub` (as root) for a class of real OS accounts (tests/hub_class.py) and, for
each class size N given, lets N students arrive at once, each as a thread: ask the hub for a
token with their password (a PAM login), start their JupyterLab through the REST API, wait
until it is ready, and fetch ex1 in the Assignments tab's API. Prints, per N, when the last
student had ex1 (wall time from the first request), the median and 95th percentile of a
student's wait, failures, and the memory of the students' servers and of the hub and proxy.
Every account, server and file is removed at the end.

Bounded: at most 60 students a round, every request times out, and a round stops after
--round-seconds. Traffic goes to 127.0.0.1 only.

    sudo .venv/bin/python benchmarks/hub_load.py --students 10 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from hub_class import (  # noqa: E402
    ASSIGNMENT,
    NBGRADER,
    HubClass,
    RunningHub,
    start_hub,
    stop_hub,
)

MAX_STUDENTS = 60


def arrive(hub: RunningHub, account, deadline: float) -> float:  # noqa: ANN001
    """One student: log in, start the server, fetch ex1; seconds taken (raises on failure)."""
    started = time.monotonic()
    session = hub.session(account)
    session.post(f"{hub.url}/hub/api/users/{account.login}/server", timeout=120)
    while not session.get(f"{hub.url}/hub/api/users/{account.login}", timeout=60).json()[
            "servers"].get("", {}).get("ready"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{account.login}'s server was not ready in time")
        time.sleep(0.5)
    fetched = session.post(f"{hub.url}/user/{account.login}/assignments/fetch", timeout=120,
                           data={"course_id": "dlmath", "assignment_id": ASSIGNMENT})
    if not (fetched.ok and fetched.json().get("success")):
        raise RuntimeError(f"{account.login}: fetch failed: {fetched.text[:200]}")
    return time.monotonic() - started


def rss_mib(uids: set[int] | None = None, pids: set[int] | None = None) -> float:
    """The resident memory (MiB) of the processes of ``uids`` or with ``pids``."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (uids is not None and entry.stat().st_uid in uids) or \
                    (pids is not None and int(entry.name) in pids):
                status = (entry / "status").read_text()
                total += int(next(line.split()[1] for line in status.splitlines()
                                  if line.startswith("VmRSS:")))
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return total / 1024


def hub_pids(hub: RunningHub) -> set[int]:
    """The hub's process and its proxy."""
    pids = {hub.process.pid}
    proxy = hub.hub_class.state / "hub" / "proxy.pid"
    if proxy.is_file():
        pids.add(int(proxy.read_text().strip()))
    return pids


def run_round(hub: RunningHub, students: list, seconds: float) -> dict:
    """N students at once; what it took."""
    deadline = time.monotonic() + seconds
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(students)) as pool:
        futures = [pool.submit(arrive, hub, s, deadline) for s in students]
    waits, failures = [], []
    for account, future in zip(students, futures, strict=True):
        try:
            waits.append(future.result())
        except Exception as error:  # noqa: BLE001 - counted and reported, the round goes on
            failures.append(f"{account.login}: {error}")
    wall = time.monotonic() - started
    servers = rss_mib(uids={s.uid for s in students})
    return {"n": len(students), "wall": wall, "waits": sorted(waits), "failures": failures,
            "server_mib": servers / max(1, len(students) - len(failures)),
            "hub_mib": rss_mib(pids=hub_pids(hub)), "load": load_before}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, nargs="+", default=[10, 30],
                        help="class sizes, one round each (default: 10 30)")
    parser.add_argument("--round-seconds", type=float, default=300,
                        help="a round's time limit (default: 300)")
    args = parser.parse_args()
    if os.geteuid() != 0 or any(not 0 < n <= MAX_STUDENTS for n in args.students):
        parser.error(f"run as root, with class sizes from 1 to {MAX_STUDENTS}")
    hub_class = HubClass.make(sum(args.students))
    try:
        hub = start_hub(hub_class, hub_class.root / "hub.log")
        try:
            # The instructor releases ex1 as the formgrader would (its config, as the grader).
            hub_class.run_as(hub_class.grader, [str(NBGRADER), "release_assignment", ASSIGNMENT,
                                                "--log-level=ERROR"], cwd=hub_class.course,
                             JUPYTER_CONFIG_PATH=str(hub_class.state / "grader"))
            results, first = [], 0
            for n in args.students:
                results.append(run_round(hub, hub_class.students[first:first + n],
                                         args.round_seconds))
                first += n
        finally:
            stop_hub(hub)
    finally:
        hub_class.remove()
    memory = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    print(f"{os.cpu_count()} cores, {memory:.0f} GiB; each student at once: PAM login + token, "
          "start JupyterLab, fetch ex1")
    print("students  all fetched s  median s  p95 s  failed  MiB/server  hub+proxy MiB  "
          "load before")
    for r in results:
        waits = r["waits"] or [float("nan")]
        p95 = waits[min(len(waits) - 1, int(0.95 * len(waits)))]
        print(f"{r['n']:8d}  {r['wall']:13.1f}  {statistics.median(waits):8.1f}  {p95:5.1f}  "
              f"{len(r['failures']):6d}  {r['server_mib']:10.0f}  {r['hub_mib']:13.0f}  "
              f"{r['load']:11.1f}")
        for failure in r["failures"]:
            print(f"  FAILED {failure}")
    return 1 if any(r["failures"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
