"""Who asks for a change: a fact the adapter establishes and every event records."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Caller:
    """The caller of a command: the authenticated actor (a name, or None when the service
    does not know it) and the id of the request that carried the command."""

    actor: str | None = None
    request_id: str | None = None

    def recorded(self) -> dict[str, str | None]:
        """The fields every event records from its caller."""
        return {"actor": self.actor, "request_id": self.request_id}


# A caller the service knows nothing about: operator tools, tests, imports of old logs.
ANONYMOUS = Caller()
