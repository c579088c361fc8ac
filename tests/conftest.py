"""Set-up every test process needs: nbgrader runs ``alembic`` by name when it creates a
gradebook, so this interpreter's tools go on PATH, as the ``dlmath`` command puts them.

The PostgreSQL fixtures: one private server per test session (``postgres_cluster.py``),
a new database on it for each test that asks for ``postgres_url``.
"""

import os
from collections.abc import Iterator

import pytest
from postgres_cluster import Cluster, start_cluster

from dlmath.course import tools_on_path

tools_on_path(os.environ)


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """A private PostgreSQL server on loopback, stopped and removed after the session."""
    cluster = start_cluster()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> str:
    """The ``postgresql://`` URL of a new empty database on the session's server."""
    return postgres_cluster.create_database()
