"""Closing a finished connection without making anyone wait for the client.

A connection that ends with ``Connection: close`` is half-closed (our FIN goes out) and
then read until the client closes its side, so that request bytes still unread cannot make
the kernel reset the connection and cut off the response's last segment. Gunicorn does
that read on the worker's main loop, blocking for up to two seconds while a client keeps
its finished socket open; no connection is accepted meanwhile. Here the reading is done
by the main loop's poller instead: each readable socket is drained without blocking, and
one the client keeps open is closed once its time is up.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import time

# Seconds a half-closed connection waits for the client to close its side.
LINGER_SECONDS = 2.0
# Bytes read from a half-closed connection before it is closed anyway.
MOST_DRAINED = 64 * 1024


class Lingering:
    """Half-closed sockets on the worker's poller, each until the client closes it or its
    time is up. Used from the worker's main thread only, as the poller is."""

    def __init__(self, poller: selectors.BaseSelector) -> None:
        self._poller = poller
        # Insertion order is deadline order: every socket gets the same linger.
        self._deadlines: dict[socket.socket, float] = {}
        self._drained: dict[socket.socket, int] = {}

    def __len__(self) -> int:
        return len(self._deadlines)

    def close(self, sock: socket.socket) -> None:
        """Send our FIN now; close the socket once the client has sent its own."""
        try:
            sock.shutdown(socket.SHUT_WR)
            sock.setblocking(False)
            self._poller.register(sock, selectors.EVENT_READ, self._drain)
        except (OSError, ValueError):  # the client is gone already
            sock.close()
            return
        self._deadlines[sock] = time.monotonic() + LINGER_SECONDS
        self._drained[sock] = 0

    def expire(self) -> None:
        """Close the sockets whose time is up."""
        now = time.monotonic()
        for sock, deadline in list(self._deadlines.items()):
            if deadline > now:
                break
            self._forget(sock)

    def close_all(self) -> None:
        """On the way out, after the poller itself was closed."""
        for sock in self._deadlines:
            sock.close()
        self._deadlines.clear()
        self._drained.clear()

    def _drain(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(MOST_DRAINED)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        self._drained[sock] += len(data)
        if not data or self._drained[sock] >= MOST_DRAINED:
            self._forget(sock)

    def _forget(self, sock: socket.socket) -> None:
        del self._deadlines[sock], self._drained[sock]
        with contextlib.suppress(KeyError, ValueError):  # unregistered already
            self._poller.unregister(sock)
        sock.close()
