"""Gunicorn run from the ``milestones serve`` command, with the project's settings."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornApp(BaseApplication):  # type: ignore[misc]
    """Gunicorn with the project's settings; each worker builds the app after the fork."""

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        super().__init__()

    def load_config(self) -> None:
        from adapters.server import gunicorn_conf  # noqa: PLC0415 - it prepares the metrics directory

        settings = {
            name: value
            for name, value in vars(gunicorn_conf).items()
            if name in self.cfg.settings and value is not None
        }
        settings.update(self._options)
        for name, value in settings.items():
            self.cfg.set(name, value)

    def load(self) -> Any:
        from adapters.server.wsgi import create_wsgi_app  # noqa: PLC0415 - built in the worker

        return create_wsgi_app()
