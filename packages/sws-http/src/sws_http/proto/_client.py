"""The client role: request heads as bytes, and the response events `ResponseParser` returns.

`request_head` follows `response_head`'s rules: it writes the framing itself (Content-Length
or chunked, and Connection) from its arguments, so a request's body and framing cannot
disagree, and it refuses with `ValueError` anything that would let one part of the head
inject another (CR, LF or NUL anywhere, a method or field name that is not a token, a target
with a space). Those are bugs in the caller, never input to pass on. A chunked request body
is written with `chunk` and `last_chunk`, as a chunked response body is.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sws_http.proto._events import Headers
from sws_http.proto._request import _HOST, _TARGET
from sws_http.proto._response import _FRAMING, _TOKEN, _checked_lines, _header_line

# Request lines are built per request (targets vary), but a client repeats a few methods
# and hosts: their checked bytes are remembered. Bounded: cleared when full.
_MAX_CHECKED: Final = 256
_checked_methods: dict[str, bytes] = {}
_checked_hosts: dict[str, bytes] = {}
_UPGRADE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+(?:/[!#$%&'*+\-.^_`|~0-9A-Za-z]+)?")


def _method_bytes(method: str) -> bytes:
    raw = _checked_methods.get(method)
    if raw is None:
        if not _TOKEN.fullmatch(method):
            raise ValueError(f"method {method!r} is not a token")  # RFC 9110 §9.1
        raw = method.encode("ascii")
        if len(_checked_methods) >= _MAX_CHECKED:
            _checked_methods.clear()
        _checked_methods[method] = raw
    return raw


def _host_line(host: str) -> bytes:
    line = _checked_hosts.get(host)
    if line is None:
        raw = host.encode("ascii", "replace")  # "?" for non-ASCII, refused here:
        if not host.isascii() or not _HOST.fullmatch(raw):
            # RFC 9112 §3.2: Host is uri-host [":" port]; IDNA-encode names first.
            raise ValueError(f"host {host!r} is not uri-host[:port]")
        line = b"host: " + raw + b"\r\n"
        if len(_checked_hosts) >= _MAX_CHECKED:
            _checked_hosts.clear()
        _checked_hosts[host] = line
    return line


def request_head(
    method: str,
    target: str,
    host: str,
    headers: Iterable[tuple[str, str]] = (),
    *,
    content_length: int | None = None,
    chunked: bool = False,
    keep_alive: bool = True,
    upgrade: str | None = None,
) -> bytes:
    """Return an HTTP/1.1 request line and header section, ending with the empty line.

    The fields come in this order: Host (unless `headers` has one, which is then sent where
    the caller put it), the caller's fields, then the framing fields.

    Args:
        method: the method token ("GET"); case-sensitive, sent as given.
        target: the request-target, in origin-form ("/p?q=1"), absolute-form (to a proxy),
            authority-form (CONNECT) or "*"; visible ASCII, no fragment (RFC 9112 §3.2).
        host: the Host value, uri-host[:port] in ASCII (RFC 9112 §3.2: "" when the target
            URI has no authority).
        headers: `(name, value)` pairs, in order; not Content-Length, Transfer-Encoding or
            Connection, which the other arguments decide.
        content_length: the body's length; None for no body (or a chunked one).
        chunked: announce a chunked body instead (write it with `chunk` and `last_chunk`).
        keep_alive: False to ask the server to close after its response
            (`Connection: close`, RFC 9112 §9.6).
        upgrade: the protocol to switch to ("websocket"): writes `Upgrade` and the
            `Connection: upgrade` option it requires (RFC 9110 §7.8); the server answers 101.

    Returns:
        The head's bytes; the body (if any) follows it on the wire.

    Raises:
        ValueError: a method or field name that is not a token, a control character (CR,
            LF, NUL, ...) in a value, a target or host that is not valid, a framing field in
            `headers`, or framing arguments that contradict each other.
    """
    raw_target = target.encode("ascii", "replace")  # "?" for non-ASCII, refused here:
    if not target.isascii() or not _TARGET.fullmatch(raw_target) or b"#" in raw_target:
        # RFC 9112 §3.2: visible ASCII, no space or control; a fragment is never sent.
        raise ValueError(f"request-target {target!r} is not visible ASCII without a fragment")
    parts = [b"%s %s HTTP/1.1\r\n" % (_method_bytes(method), raw_target), b""]
    has_host = False
    for field in headers:
        line = _checked_lines.get(field) if type(field) is tuple else None
        if line is None:
            name, value = field
            if name.lower() in _FRAMING:
                raise ValueError(f"{name} is set from request_head's arguments")
            line = _header_line(name, value)  # checks the name and value, and remembers
        if line[4:5] == b":" and line[:4].lower() == b"host":
            has_host = True
        parts.append(line)
    if not has_host:
        parts[1] = _host_line(host)
    if chunked:
        if content_length is not None:
            raise ValueError("a request is either chunked or has a Content-Length")
        parts.append(b"transfer-encoding: chunked\r\n")
    elif content_length is not None:
        if content_length < 0:
            raise ValueError(f"content_length {content_length} is negative")
        parts.append(b"content-length: %d\r\n" % content_length)
    if upgrade is not None:
        if not _UPGRADE.fullmatch(upgrade):
            raise ValueError(f"upgrade {upgrade!r} is not protocol[/version]")
        option = b"upgrade" if keep_alive else b"upgrade, close"
        parts.append(b"connection: %s\r\nupgrade: %s\r\n" % (option, upgrade.encode("ascii")))
    elif not keep_alive:
        parts.append(b"connection: close\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


@dataclass(slots=True, eq=False)
class Response:
    """A final response head (RFC 9112 §4): status 200-599.

    Attributes:
        status: the status code.
        reason: the reason phrase, as sent (latin-1 text; may be empty).
        http_version: "1.1" or "1.0" (a higher 1.x minor version reads as "1.1").
        headers: every header field. Responses whose heads are byte for byte the same
            may share one `Headers`: read it, never change it.
        keep_alive: whether the connection may carry another request after this response.
        content_length: the body's length when the head decides it: 0 for a response
            without a body (to HEAD, 204, 304, 2xx to CONNECT), the Content-Length value,
            or None for a chunked or close-delimited body.
    """

    status: int
    reason: str
    http_version: str
    headers: Headers
    keep_alive: bool
    content_length: int | None


@dataclass(slots=True, eq=False)
class InformationalResponse:
    """An interim 1xx response head (RFC 9110 §15.2): 100 Continue, 103 Early Hints, ...;
    the final `Response` to the same request follows, except after 101 Switching Protocols.

    Attributes:
        status: the status code, 100-199.
        reason: the reason phrase, as sent (may be empty).
        http_version: "1.1" or "1.0".
        headers: every header field.
    """

    status: int
    reason: str
    http_version: str
    headers: Headers
