"""The course's gradebook, wherever ``c.CourseDirectory.db_url`` puts it (SQLite's
``gradebook.db`` by default, or a database server), and moving it to another database
(SQLite to PostgreSQL, say): every row of every nbgrader table, copied as it is and then
checked against the original.

nbgrader's tables are keyed by strings (UUIDs and ids it chose), with no sequences or
database-side defaults, so a row-for-row copy through SQLAlchemy Core is the whole
migration: the copy is the same gradebook, whatever the two databases are.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from nbgrader.api import Base, Gradebook, get_alembic_version
from nbgrader.coursedir import CourseDirectory
from sqlalchemy import Connection, Engine, Table, create_engine, insert, inspect, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import scoped_session, sessionmaker
from sqlalchemy.pool import NullPool

from dlmath.course import CourseError, load_config

BATCH_ROWS = 1000
ALEMBIC_VERSION = "alembic_version"


def is_sqlite(url: str) -> bool:
    """Whether ``url`` is a SQLite gradebook (a file that one process writes at a time)
    rather than a database server."""
    return make_url(url).get_backend_name() == "sqlite"


def sqlite_file_missing(url: str) -> bool:
    """Whether ``url`` is a SQLite gradebook whose file does not exist (opening it, as
    nbgrader's ``Gradebook`` does, would create an empty one)."""
    return is_sqlite(url) and not Path(make_url(url).database or "").is_file()


def existing_gradebook(course_root: Path) -> str | None:
    """The URL of the course's gradebook (its ``c.CourseDirectory.db_url``), or None when that
    is a SQLite file not made yet. For readers that must not create a gradebook."""
    url = CourseDirectory(config=load_config(course_root)).db_url
    return None if sqlite_file_missing(url) else url


def shown(url: str) -> str:
    """A database URL with its password hidden, for messages."""
    return make_url(url).render_as_string(hide_password=True)


class SharedEngineGradebook(Gradebook):
    """nbgrader's ``Gradebook`` (every query method as nbgrader has it) on one SQLAlchemy
    engine per database and process: for reading and updating a gradebook that exists, many
    times in a run, as the grading pipeline does for every submission.

    Each ``Gradebook(url)`` builds an engine of its own: it inspects the schema, creates
    missing tables, checks the course row (3.6 ms on SQLite, measured; on PostgreSQL a new
    connection as well), and starts with an empty compiled-statement cache, so every query
    is compiled again. This one skips all of that after the first time in the process. It
    neither creates tables nor the course row: open a gradebook that may not exist yet with
    ``Gradebook``.

    On SQLite no connection is kept between uses (``NullPool``): the next use opens the file
    again, so a gradebook file that was replaced (a backup restored) is read, not the
    unlinked old one. A database server's connections are pooled, checked before each use.
    """

    def __init__(self, db_url: str, course_id: str = "default_course") -> None:
        # Deliberately not Gradebook.__init__: that is the per-instance set-up this avoids.
        self.engine = _shared_engine(db_url)
        self.db = scoped_session(sessionmaker(autoflush=True, bind=self.engine, future=True))
        self.course_id = course_id
        self.authenticator = None

    def close(self) -> None:
        """End this gradebook's session; the engine stays for the next one."""
        self.db.remove()


_ENGINES: dict[str, Engine] = {}
_ENGINES_LOCK = threading.Lock()  # a server's threads may open gradebooks at once


def _shared_engine(db_url: str) -> Engine:
    with _ENGINES_LOCK:
        engine = _ENGINES.get(db_url)
        if engine is None:
            pooling = {"poolclass": NullPool} if is_sqlite(db_url) else {"pool_pre_ping": True}
            engine = _ENGINES[db_url] = create_engine(db_url, future=True, **pooling)
        return engine


def _forget_engines_after_fork() -> None:
    # A forked child must not use, or close, the parent's pooled connections (SQLAlchemy,
    # "Using Connection Pools with Multiprocessing or os.fork()"): it makes engines of its own.
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


@dataclass
class CopyReport:
    """What ``copy_gradebook`` did: rows copied per table, in the order they were copied, and
    the tables whose copy differs from the source (none, unless something is wrong)."""

    rows: dict[str, int]
    differ: list[str]

    @property
    def total(self) -> int:
        """Rows copied in all tables."""
        return sum(self.rows.values())


def copy_gradebook(source_url: str, target_url: str) -> CopyReport:
    """Copy the nbgrader gradebook at ``source_url`` into the empty database ``target_url``.

    The target gets nbgrader's schema and every table's rows, in dependency order, in one
    transaction (PostgreSQL's DDL is transactional too), so a failure leaves no half-copied
    gradebook; and finally each table of the target is compared with the source,
    row by row (an order-independent digest of every row's values, and the counts): the
    report's ``differ`` names the tables that do not match.

    Raises CourseError (the message says what to do) when the source has no gradebook, the
    target already holds one with data, the two are of different nbgrader schema versions, or
    a database cannot be reached or written.
    """
    if sqlite_file_missing(source_url):
        raise CourseError(f"{shown(source_url)} does not exist: there is no gradebook to copy")
    source_engine, target = _engine(source_url), _engine(target_url)
    try:
        if ALEMBIC_VERSION not in inspect(source_engine).get_table_names():
            raise CourseError(f"{shown(source_url)} holds no nbgrader gradebook")
        with target.connect() as connection:
            filled = [t.name for t in Base.metadata.sorted_tables
                      if inspect(connection).has_table(t.name) and _has_rows(connection, t)]
        if filled:
            raise CourseError(
                f"{shown(target_url)} already holds a gradebook with data (tables "
                f"{', '.join(filled)}): copy into a new, empty database (createdb NAME)")
        with source_engine.connect() as reading, target.begin() as writing:
            version, head = _version(reading), get_alembic_version()
            if version != head:
                raise CourseError(
                    f"the gradebook is at nbgrader schema {version}, this nbgrader's is {head}: "
                    "run `nbgrader db upgrade` in the course folder first")
            # nbgrader's schema, stamped with its version as nbgrader stamps a new gradebook
            # (Gradebook() itself would also add a course row of its own).
            Base.metadata.create_all(bind=writing)
            if not inspect(writing).has_table(ALEMBIC_VERSION):
                writing.execute(text(f"CREATE TABLE {ALEMBIC_VERSION} "
                                     "(version_num VARCHAR(32) NOT NULL)"))
                writing.execute(text(f"INSERT INTO {ALEMBIC_VERSION} VALUES (:version)"),
                                {"version": version})
            elif _version(writing) != version:
                raise CourseError(f"{shown(target_url)} holds an nbgrader schema of another "
                                  "version: copy into a new, empty database (createdb NAME)")
            rows = {}
            for table in Base.metadata.sorted_tables:
                rows[table.name] = 0
                for batch in _batches(reading, table):
                    writing.execute(insert(table), batch)
                    rows[table.name] += len(batch)
        with source_engine.connect() as reading, target.connect() as written:
            differ = [t.name for t in Base.metadata.sorted_tables
                      if _digest(reading, t) != _digest(written, t)]
        return CopyReport(rows, differ)
    except SQLAlchemyError as error:
        raise CourseError(f"cannot copy the gradebook: {type(error).__name__}: "
                          f"{str(error).splitlines()[0]}") from error
    finally:
        source_engine.dispose()
        target.dispose()


def _engine(url: str) -> Engine:
    try:
        return create_engine(url)
    except (SQLAlchemyError, ImportError) as error:
        raise CourseError(f"cannot open {shown(url)}: {error} (a postgresql:// URL needs the "
                          "driver: pip install -e '.[postgres]')") from error


def _has_rows(connection: Connection, table: Table) -> bool:
    return connection.execute(select(table).with_only_columns(*table.primary_key.columns)
                              .limit(1)).first() is not None


def _version(connection: Connection) -> str:
    return connection.execute(text(f"SELECT version_num FROM {ALEMBIC_VERSION}")).scalar_one()


def _batches(connection: Connection, table: Table) -> Iterator[list[dict]]:
    result = connection.execution_options(yield_per=BATCH_ROWS).execute(select(table))
    for partition in result.mappings().partitions():
        yield [dict(row) for row in partition]


def _digest(connection: Connection, table: Table) -> tuple[int, int]:
    """(rows, sum of each row's SHA-256 modulo 2**256): equal for equal sets of rows in any
    order. Values are compared as SQLAlchemy returns them (floats, datetimes, booleans), so
    the two databases' storage formats do not matter."""
    count, total = 0, 0
    for batch in _batches(connection, table):
        for row in batch:
            count += 1
            text_of_row = repr(sorted(row.items())).encode()
            total = (total + int.from_bytes(hashlib.sha256(text_of_row).digest(), "big")) \
                % 2**256
    return count, total
