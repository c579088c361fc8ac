"""A private PostgreSQL server for the tests: Debian's ``postgresql`` (``bin/setup --test``
installs it), started in a temporary folder on a free loopback port and a private socket
folder, so it never meets the machine's own cluster or another test run's.

PostgreSQL refuses to run as root, so under root (as CI runs) the server runs as the
``postgres`` user Debian's package creates (or ``nobody``), in a folder given to that user.
The server listens on 127.0.0.1 only and trusts every connection there (a throwaway test
server: no passwords), as the database user ``dlmath``.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from browser.lab_fixtures import free_port

START_SECONDS = 60
USER = "dlmath"


def server_binaries() -> Path:
    """The folder of Debian's ``initdb`` and ``pg_ctl`` (newest major version)."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                   key=lambda path: int(path.parts[-3]))
    if not found:
        raise RuntimeError("PostgreSQL's server is not installed: run bin/setup --test "
                           "(Debian package postgresql)")
    return found[-1].parent


@dataclass
class Cluster:
    """A running private PostgreSQL server."""

    folder: Path
    port: int
    run_as: str | None  # the OS user the server runs as, or None for this process's user

    def url(self, database: str) -> str:
        """The SQLAlchemy URL of ``database`` on this server (driver: psycopg2)."""
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"gradebook_{uuid.uuid4().hex[:12]}"
        self._psql(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _psql(self, statement: str) -> None:
        subprocess.run([str(server_binaries() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1",
                        "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, "-d", "postgres",
                        "-c", statement], check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        try:
            self._run([str(server_binaries() / "pg_ctl"), "stop", "-D",
                       str(self.folder / "data"), "-m", "fast", "-w"])
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, command: list[str]) -> None:
        result = subprocess.run(command, user=self.run_as, capture_output=True, text=True,
                                timeout=START_SECONDS, cwd=self.folder)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command[:2])} failed ({result.returncode}):\n"
                               f"{result.stdout}{result.stderr}")


def server_user() -> str | None:
    """The unprivileged user to run the server as when this process is root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, and there is no 'postgres' or 'nobody' user to run "
                       "PostgreSQL as (it refuses root)")


def start_cluster() -> Cluster:
    """initdb a new cluster in a temporary folder and start it; the caller stops it."""
    binaries = server_binaries()
    run_as = server_user()
    folder = Path(tempfile.mkdtemp(prefix="dlmath-postgres-"))
    (folder / "socket").mkdir(mode=0o700)  # only the server's user reaches the socket
    if run_as is not None:
        entry = pwd.getpwnam(run_as)
        for path in (folder, folder / "socket"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    cluster = Cluster(folder, free_port(), run_as)
    try:
        cluster._run([str(binaries / "initdb"), "-D", str(folder / "data"), "-U", USER,
                      "--auth=trust", "--no-sync", "-E", "UTF8", "--no-instructions"])
        # fsync off: a test cluster is thrown away, durability costs only time here.
        options = (f"-h 127.0.0.1 -p {cluster.port} -k {folder / 'socket'} "
                   "-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
        cluster._run([str(binaries / "pg_ctl"), "start", "-D", str(folder / "data"), "-w",
                      "-t", str(START_SECONDS), "-l", str(folder / "server.log"),
                      "-o", options])
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return cluster


def use_database(course: Path, url: str) -> None:
    """Point the course's gradebook at ``url``: the one setting README's "Several graders at
    once" names, appended to its ``nbgrader_config.py``."""
    with open(course / "nbgrader_config.py", "a", encoding="utf-8") as config:
        config.write(f"\nc.CourseDirectory.db_url = {url!r}\n")
