"""`Listener`: a listening socket whose connections arrive through one multishot accept.

One accept SQE stays armed for the listener's whole life: each connection completes it
with `CqeFlag.MORE` set. When it ends (an error such as EMFILE, or a cancel), it is armed
again, after a short pause if the error was a lack of resources, so a full fd table does
not turn into a busy loop. Closing cancels the accept first and closes the socket only
once the accept has ended, so the kernel never accepts on a closed fd.
"""

from __future__ import annotations

import errno
import logging
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from sws_core._conn import K_ACCEPT, K_CANCEL, Conn, TcpProtocol
from sws_core._fiber import Coro
from sws_core._slots import pack_user_data
from uring import CqeFlag, prep_accept_multishot, prep_cancel64

if TYPE_CHECKING:
    from sws_core._loop import Loop

log = logging.getLogger("sws_core")

_MORE: Final = int(CqeFlag.MORE)
_RETRY_AFTER_S: Final = 0.1  # pause before re-arming an accept that ran out of resources
_OUT_OF_RESOURCES: Final = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class Listener:
    """A listening TCP socket served by a loop (`Loop.listen` makes them)."""

    def __init__(
        self,
        loop: Loop,
        index: int,
        host: str,
        port: int,
        handler: Callable[[Conn], Coro] | None,
        protocol: Callable[[Conn], TcpProtocol] | None,
        *,
        backlog: int,
        reuse_port: bool,
    ) -> None:
        self.loop = loop
        self.index = index
        self.handler = handler
        self.protocol = protocol
        self.accept_armed = False
        self.closing = False
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuse_port:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6 and host == "::":
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            # Accepted sockets inherit TCP_NODELAY from the listener on Linux: one
            # setsockopt here instead of one per connection.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.bind((host, port))
            sock.listen(backlog)
        except BaseException:
            sock.close()
            raise
        self.sock: socket.socket | None = sock
        self.host, self.port = sock.getsockname()[:2]

    def arm(self) -> None:
        """Arm the multishot accept (idempotent)."""
        if self.accept_armed or self.closing or self.sock is None:
            return
        prep_accept_multishot(
            self.loop._sqe(),
            self.sock.fileno(),
            None,
            None,
            socket.SOCK_CLOEXEC,
            user_data=self._user_data(K_ACCEPT),
        )
        self.accept_armed = True

    def _user_data(self, kind: int) -> int:
        return pack_user_data(kind, self.index, 0)

    def on_accept(self, res: int, flags: int) -> None:
        """Handle an accept completion: adopt the connection, re-arm when it ended."""
        if res >= 0:
            if self.closing:
                self.loop._adopt_refused(res)
            else:
                self.loop._adopt(res, self)
        if flags & _MORE:
            return
        self.accept_armed = False
        if self.closing:
            self.close_socket()
        elif -res in _OUT_OF_RESOURCES:
            log.warning(
                "accept on %s:%s failed (%s); retrying in %s s",
                self.host,
                self.port,
                errno.errorcode.get(-res),
                _RETRY_AFTER_S,
            )
            self.loop.call_later(_RETRY_AFTER_S, self.arm)
        else:
            if res < 0 and res != -errno.ECANCELED:
                log.warning(
                    "accept on %s:%s ended: %s",
                    self.host,
                    self.port,
                    errno.errorcode.get(-res, res),
                )
            self.arm()

    def close(self) -> None:
        """Stop accepting: cancel the accept, then close the socket when it has ended."""
        if self.closing:
            return
        self.closing = True
        if self.accept_armed and self.loop._ring is not None:
            prep_cancel64(
                self.loop._sqe(), self._user_data(K_ACCEPT), user_data=self._user_data(K_CANCEL)
            )
        else:
            self.close_socket()

    def close_socket(self) -> None:
        """Close the listening socket (idempotent)."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def __repr__(self) -> str:
        state = "closed" if self.sock is None else "closing" if self.closing else "open"
        return f"<Listener {self.host}:{self.port} {state} index={self.index}>"
