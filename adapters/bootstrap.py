"""The composition root: the one place that builds the service from its settings."""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing, contextmanager, nullcontext, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit

from eventsourcing.persistence import InfrastructureFactory, OperationalError
from eventsourcing.utils import Environment

from adapters.settings import Settings, sqlite_path
from adapters.storage.chain import AuditChain
from adapters.storage.faults import StorageUnwritable
from adapters.webhooks.store import WebhookStore
from domain.application import Milestones
from projections import rendered
from projections.runner import catch_up_all

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from contextlib import AbstractContextManager

    from adapters.storage.log_watch import LogWatch
    from projections.chain_keeper import ChainKeeper
    from projections.ports import Reads, ViewStore


# The advisory lock key under which processes set up a PostgreSQL database ("mile").
SETUP_LOCK = 0x6D696C65

__all__ = ["Service", "StorageUnwritable", "Store", "StoreMissing", "open_service", "open_store"]


@dataclass
class Service:
    """The application over its storage: what serving needs."""

    milestones: Milestones
    reads: Reads
    store: ViewStore
    webhooks: WebhookStore
    chain: AuditChain | None = None
    chain_keeper: ChainKeeper | None = None
    keeper_store: Store | None = None  # the keeper's own connections

    def close(self) -> None:
        if self.chain_keeper is not None:
            self.chain_keeper.stop()
        if self.keeper_store is not None:
            self.keeper_store.close()
        self.webhooks.close()
        self.reads.close()
        self.milestones.close()


@dataclass
class Store:
    """The storage alone, without the application: what the operator's tools need."""

    view: ViewStore
    reads: Reads
    factory: InfrastructureFactory[Any]

    def close(self) -> None:
        self.reads.close()
        self.factory.close()


class StoreMissing(Exception):
    """A tool was pointed at storage that holds no store; tools never create one."""


@dataclass(frozen=True)
class _Backend:
    """How to open one kind of storage: the library's settings, what must hold while the
    tables are created, the view store and reads of the recorder made, and what serving
    does first with the application on it."""

    env: dict[str, str]
    setup: Callable[[], AbstractContextManager[None]]
    open: Callable[[Any], tuple[ViewStore, Reads]]
    start: Callable[[Milestones], None] = lambda milestones: None


def _backend(settings: Settings) -> _Backend:
    scheme = settings.database_url.partition(":")[0]
    if scheme == "sqlite":
        return _sqlite(settings)
    if scheme in {"postgresql", "postgres"}:
        return _postgres(settings)
    msg = f"DATABASE_URL must start with sqlite:/// or postgresql://, not {scheme}:"
    raise ValueError(msg)


def _sqlite(settings: Settings) -> _Backend:
    from adapters.sqlite.reads import SQLiteReads  # noqa: PLC0415
    from adapters.sqlite.recorder import MilestonesRecorder  # noqa: PLC0415

    path = sqlite_path(settings.database_url)
    _prepare_sqlite_path(path)

    def open_recorder(recorder: Any) -> tuple[ViewStore, Reads]:
        if not isinstance(recorder, MilestonesRecorder):
            raise TypeError(recorder)
        return recorder, SQLiteReads(path)

    def start(milestones: Milestones) -> None:
        recorder = milestones.recorder
        if not isinstance(recorder, MilestonesRecorder):
            raise TypeError(recorder)
        # SQLite has one writer at a time: batches of commands queue for it in the kernel.
        milestones.writer_turn = recorder.writer_lock.held
        # Statistics only help the planner: a full disk or a read-only file must not keep
        # a worker from serving.
        with suppress(OperationalError):
            recorder.analyze()

    return _Backend(_sqlite_env(settings, path), nullcontext, open_recorder, start)


def _sqlite_env(settings: Settings, path: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "adapters.sqlite.recorder:MilestonesSQLiteFactory",
        "APPLICATION_RECORDER_TOPIC": "adapters.sqlite.recorder:MilestonesRecorder",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": str(settings.lock_timeout),
    }


def _prepare_sqlite_path(path: str) -> None:
    """Make the database's directory, and say in one line what is wrong when it cannot be
    written (SQLite would only say "unable to open database file")."""
    file = Path(path)
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        msg = f"cannot create the directory {file.parent}: {error.strerror}"
        raise StorageUnwritable(msg) from error
    # SQLite writes the file and, beside it, its -wal and -shm files.
    for needed in (file.parent, *(f for f in (file,) if f.exists())):
        if not os.access(needed, os.W_OK):
            kind = "directory" if needed.is_dir() else "database file"
            msg = f"the {kind} {needed} is not writable"
            raise StorageUnwritable(msg)


def _postgres(settings: Settings) -> _Backend:
    # Imported here so that SQLite users need not install psycopg.
    from adapters.postgres.reads import PostgresReads  # noqa: PLC0415
    from adapters.postgres.recorder import PostgresMilestonesRecorder  # noqa: PLC0415

    def open_recorder(recorder: Any) -> tuple[ViewStore, Reads]:
        if not isinstance(recorder, PostgresMilestonesRecorder):
            raise TypeError(recorder)
        return recorder, PostgresReads(recorder.datastore)

    return _Backend(_postgres_env(settings), lambda: _setup_lock(settings), open_recorder)


@contextmanager
def _setup_lock(settings: Settings) -> Iterator[None]:
    """Serialise table setup across every process and host that opens one database.

    The library creates its tables and functions on start; two processes doing that at
    once on PostgreSQL fail ("tuple concurrently updated"). An advisory lock, held on a
    connection of its own, makes them take turns.
    """
    import psycopg  # noqa: PLC0415

    with psycopg.connect(
        settings.database_url, autocommit=True, connect_timeout=settings.connect_timeout
    ) as connection:
        connection.execute("SELECT pg_advisory_lock(%s)", (SETUP_LOCK,))
        try:
            yield
        finally:
            connection.execute("SELECT pg_advisory_unlock(%s)", (SETUP_LOCK,))


def _postgres_env(settings: Settings) -> dict[str, str]:
    url = urlsplit(settings.database_url)
    try:
        port = url.port or 5432
    except ValueError as error:
        msg = f"DATABASE_URL has a bad port: {error}"
        raise ValueError(msg) from error
    return {
        "PERSISTENCE_MODULE": "adapters.postgres.pool:BoundedPostgresFactory",
        "APPLICATION_RECORDER_TOPIC": "adapters.postgres.recorder:PostgresMilestonesRecorder",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")),
        "POSTGRES_HOST": url.hostname or "localhost",
        "POSTGRES_PORT": str(port),
        "POSTGRES_USER": unquote(url.username or ""),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_max_overflow),
        "POSTGRES_CONNECT_TIMEOUT": str(settings.connect_timeout),
        "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout),
        "MILESTONES_STORAGE_TIMEOUT": str(settings.storage_timeout),
    }


def check_storage(settings: Settings) -> None:
    """Refuse, in one line, storage that serving could never write: a bad URL, or an
    SQLite path that cannot be written. An unreachable PostgreSQL server is not refused:
    workers connect when it answers."""
    _backend(settings)


def open_store(settings: Settings, *, read_only: bool = True) -> Store:
    """Open an existing store for a tool: nothing is created, the view is left as it is,
    and no application is built. A read-only store opens read-only, so a database on a
    read-only file or a full disk can still be exported and verified.

    Raises StoreMissing when the storage holds no store.
    """
    if settings.database_url.startswith("sqlite"):
        path = str(Path(sqlite_path(settings.database_url)).resolve())
        uri = _existing_sqlite_store(path, read_only=read_only)
        env = {**_sqlite_env(settings, uri), "CREATE_TABLE": "false"}
        reads: Reads
        factory = InfrastructureFactory.construct(Environment(Milestones.name, env))
        from adapters.sqlite.reads import SQLiteReads  # noqa: PLC0415
        from adapters.sqlite.recorder import MilestonesRecorder  # noqa: PLC0415

        recorder = factory.application_recorder()
        if not isinstance(recorder, MilestonesRecorder):
            raise TypeError(recorder)
        reads = SQLiteReads(path, uri=uri)
        return Store(view=recorder, reads=reads, factory=factory)
    backend = _backend(settings)  # also refuses a URL of an unknown kind
    _check_postgres_store(settings)
    env = {**backend.env, "CREATE_TABLE": "false"}
    factory = InfrastructureFactory.construct(Environment(Milestones.name, env))
    view, reads = backend.open(factory.application_recorder())
    return Store(view=view, reads=reads, factory=factory)


def _existing_sqlite_store(path: str, *, read_only: bool) -> str:
    """The URI to open an existing store by (the library opens SQLite names as URIs);
    StoreMissing when there is none.

    ``mode=ro`` and ``mode=rw`` never create the file. On a read-only file system a
    read-only open of a WAL database fails without its -shm file; with no -wal file
    there is nothing beyond the file itself to read, so it is opened as immutable.
    """
    if not Path(path).is_file():
        msg = f"no database at {path}"
        raise StoreMissing(msg)
    base = f"file:{quote(path)}"
    uri = f"{base}?mode={'ro' if read_only else 'rw'}"
    try:
        _holds_a_store(uri, path)
    except sqlite3.OperationalError as error:
        if not read_only:
            msg = f"cannot open {path} for writing: {error}"
            raise StorageUnwritable(msg) from error
        wal = Path(f"{path}-wal")
        if wal.exists() and wal.stat().st_size:
            raise
        uri = f"{base}?immutable=1"
        _holds_a_store(uri, path)
    return uri


def _holds_a_store(uri: str, path: str) -> None:
    with closing(sqlite3.connect(uri, uri=True)) as connection:
        found = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'stored_events'"
        ).fetchone()
    if found is None:
        msg = f"{path} holds no milestones store"
        raise StoreMissing(msg)


def _check_postgres_store(settings: Settings) -> None:
    import psycopg  # noqa: PLC0415

    from adapters.postgres.recorder import EVENTS_TABLE  # noqa: PLC0415

    # A connection of its own says why it fails (the pool would only time out).
    with psycopg.connect(
        settings.database_url, autocommit=True, connect_timeout=settings.connect_timeout
    ) as connection:
        row = connection.execute("SELECT to_regclass(%s)", (EVENTS_TABLE,)).fetchone()
    if row is None or row[0] is None:
        database = unquote(urlsplit(settings.database_url).path.lstrip("/"))
        msg = f"the PostgreSQL database {database} holds no milestones store"
        raise StoreMissing(msg)


def open_service(settings: Settings, *, keep_chain: bool = True) -> Service:
    """Open the storage and the application on it, create what is missing, and bring every
    projection up to the log's head (one that the database did not have yet is built from
    the whole log here)."""
    backend = _backend(settings)
    with backend.setup():
        milestones = Milestones(env=backend.env)
    store, reads = backend.open(milestones.recorder)
    milestones.lookups = reads
    # A write answers with the document its recording put in the view.
    milestones.renderings = rendered.take
    backend.start(milestones)
    catch_up_all(store)
    # The hash chain trails the log: chained here up to the head (the whole log, the first
    # time), then by a thread of this process (projections.chain_keeper). Of the processes
    # that start together one chains; the others go on and read the rows it writes.
    chain = audit_chain(store)
    chain.create()
    chain.catch_up(wait=False)
    keeper, keeper_store = None, None
    if keep_chain:  # not for a batch writer that catches up when done (it needs the connections)
        keeper_store = _keeper_store(settings)
        keeper = chain.keeper() if keeper_store is None else audit_chain(keeper_store.view).keeper()
        keeper.start()
    webhooks = open_webhooks(settings)
    return Service(milestones, reads, store, webhooks, chain, keeper, keeper_store)


def _keeper_store(settings: Settings) -> Store | None:
    """Connections of the chain keeper's own, on SQLite. In the service's pool, which hands
    out its idle connections in turn, the keeper's turns made the pool hold one more, so a
    request more often got a connection whose page cache another connection's write had
    made stale, and read its pages again. None for a database in memory, which only the
    service's own connections reach, and on PostgreSQL, whose pages are the server's: there
    a pool of its own would only take more of the connections the server allows."""
    if not settings.database_url.startswith("sqlite"):
        return None
    try:
        return open_store(settings, read_only=False)
    except StoreMissing:
        return None


def open_webhooks(settings: Settings) -> WebhookStore:
    """The webhook tables (subscriptions, progress, delivery log, lease), created if missing."""
    return WebhookStore(
        settings.database_url,
        lock_timeout=settings.lock_timeout,
        connect_timeout=settings.connect_timeout,
    )


def open_log_watch(settings: Settings) -> LogWatch:
    """The watch of this storage's log: LISTEN on PostgreSQL, the head's rowid on SQLite."""
    if settings.database_url.startswith("sqlite"):
        from adapters.sqlite.log_watch import sqlite_log_watch  # noqa: PLC0415

        return sqlite_log_watch(sqlite_path(settings.database_url))
    from adapters.postgres.log_watch import ListenWatch  # noqa: PLC0415 - psycopg only here

    return ListenWatch(settings.database_url, settings.connect_timeout)


def audit_chain(store: ViewStore) -> AuditChain:
    """The log's hash chain in ``store``, on the store's own backend."""
    from adapters.sqlite.recorder import MilestonesRecorder  # noqa: PLC0415

    if isinstance(store, MilestonesRecorder):
        from adapters.sqlite.chain import SQLiteChainTable  # noqa: PLC0415

        return AuditChain(store, SQLiteChainTable(store.datastore.pool.db_name))
    # Imported here so that SQLite users need not install psycopg.
    from adapters.postgres.chain import PostgresChainTable  # noqa: PLC0415

    return AuditChain(store, PostgresChainTable(store))
