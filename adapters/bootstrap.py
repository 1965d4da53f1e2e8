"""The composition root: the one place that builds the service from its settings."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from adapters.http import create_app
from adapters.settings import Settings
from adapters.sqlite import MilestonesRecorder, SQLiteReads
from adapters.views import catch_up
from domain.application import Milestones

if TYPE_CHECKING:
    import falcon

    from adapters.storage import Reads
    from adapters.views import ViewStore


@dataclass
class Service:
    milestones: Milestones
    reads: Reads
    store: ViewStore

    def close(self) -> None:
        self.reads.close()
        self.milestones.close()


def sqlite_path(database_url: str) -> str:
    """``sqlite:///var/m.db`` is relative to the working directory, ``sqlite:////srv/m.db`` not."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or database_url == prefix:
        msg = f"not an SQLite URL: {database_url!r} (expected sqlite:///path/to/file.db)"
        raise ValueError(msg)
    return database_url[len(prefix) :]


def open_service(settings: Settings) -> Service:
    """Open the storage, create what is missing, and bring the view up to the log's head."""
    path = sqlite_path(settings.database_url)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    milestones = Milestones(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "APPLICATION_RECORDER_TOPIC": "adapters.sqlite:MilestonesRecorder",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": str(settings.sqlite_lock_timeout),
        }
    )
    recorder = milestones.recorder
    if not isinstance(recorder, MilestonesRecorder):
        raise TypeError(f"unexpected recorder {recorder!r}")
    catch_up(recorder)
    return Service(milestones, SQLiteReads(path), recorder)


def create_wsgi_app() -> falcon.App[falcon.Request, falcon.Response]:
    """The WSGI entry point: ``gunicorn 'adapters.bootstrap:create_wsgi_app()'``."""
    service = open_service(Settings.from_environ())
    return create_app(service.milestones, service.reads)
