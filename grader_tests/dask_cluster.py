"""A real Dask cluster on loopback, started with the dask CLI: for the tests that grade
through one and for ``benchmarks/scale.py``."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def local_dask_cluster(workers: int, folder: Path) -> Iterator[str]:
    """A scheduler and ``workers`` single-threaded worker processes on 127.0.0.1; yields the
    scheduler's address. ``folder`` holds the scheduler file. All are stopped at the end."""
    dask = str(Path(sys.executable).parent / "dask")
    scheduler_file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                  **quiet)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(scheduler_file.read_text())["address"]
        processes += [subprocess.Popen([dask, "worker", address, "--nthreads", "1",
                                        "--no-dashboard", "--name", f"w{i + 1}"], **quiet)
                      for i in range(workers)]
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            process.wait(timeout=30)
