"""Which store a command opened, said on stderr in one line as it starts.

A newcomer who runs the service from another folder must not mistake a new, empty store
for lost data: every command names its store (an absolute path, or a URL without its
password) and says whether it was just created. ``serve`` goes further and refuses to
create an SQLite store unless asked (``--create``), so that mistake cannot happen at all.
"""

from __future__ import annotations

import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from adapters.bootstrap import StoreMissing
from adapters.settings import Settings, sqlite_path

MAINTENANCE_DATABASE = "postgres"  # where a server lists its databases


def store_name(database_url: str) -> str:
    """An SQLite store's absolute path; a PostgreSQL URL without its password."""
    if database_url.startswith("sqlite:"):
        return str(Path(sqlite_path(database_url)).resolve())
    url = urlsplit(database_url)
    user = f"{url.username}@" if url.username else ""
    port = f":{url.port}" if url.port else ""
    return urlunsplit(url._replace(netloc=f"{user}{url.hostname or ''}{port}"))


def say(command: str, database_url: str, state: str) -> None:
    print(f"milestones {command}: store {store_name(database_url)} ({state})", file=sys.stderr)


def sqlite_store_exists(database_url: str) -> bool:
    """Whether the SQLite file exists and holds a store (opened read-only: nothing made)."""
    path = Path(sqlite_path(database_url)).resolve()
    if not path.is_file():
        return False
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            found = connection.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stored_events'"
            ).fetchone()
    except sqlite3.Error:
        return True  # a file there is not ours to replace: let opening it say what is wrong
    return found is not None


def postgres_state(settings: Settings) -> str:
    """The state of a PostgreSQL store as serving sees it; StoreMissing when the database
    does not exist (a configuration error). An unreachable server is not an error: the
    workers answer 503 until it answers."""
    import psycopg  # noqa: PLC0415 - only with the [postgres] extra

    from adapters.postgres.recorder import EVENTS_TABLE  # noqa: PLC0415

    timeout = settings.connect_timeout
    try:
        with psycopg.connect(
            settings.database_url, autocommit=True, connect_timeout=timeout
        ) as connection:
            row = connection.execute("SELECT to_regclass(%s)", (EVENTS_TABLE,)).fetchone()
    except psycopg.OperationalError as error:
        if _database_missing(settings, error):
            database = unquote(urlsplit(settings.database_url).path.lstrip("/"))
            msg = (
                f"the PostgreSQL database {database} does not exist on "
                f"{store_name(settings.database_url)}; create it (createdb {database}) or "
                "correct DATABASE_URL"
            )
            raise StoreMissing(msg) from None
        return "not reachable yet: the workers answer 503 until it answers"
    return "existing" if row is not None and row[0] is not None else "empty: tables created now"


def _database_missing(settings: Settings, error: Exception) -> bool:
    """Whether the server answered that the database does not exist: its message, or
    (whatever the server's language) its list of databases."""
    if "does not exist" in str(error):
        return True
    import psycopg  # noqa: PLC0415

    url = urlsplit(settings.database_url)
    maintenance = urlunsplit(url._replace(path=f"/{MAINTENANCE_DATABASE}"))
    try:
        with psycopg.connect(
            maintenance, autocommit=True, connect_timeout=settings.connect_timeout
        ) as connection:
            row = connection.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (unquote(url.path.lstrip("/")),)
            ).fetchone()
    except psycopg.Error:
        return False  # unreachable, or no access to the list: not known to be missing
    return row is None
