"""A request as the caller asks for it: checked in the caller's thread, then written.

Rules that hold in this module:

- Everything a caller can get wrong is refused before the request leaves the caller's
  thread: a URL that is not `http://` (`UnsupportedURLError`), a field name or value that
  could inject another field, a framing field (`ValueError`). Nothing the server will see
  is decided later except what redirects change.
- Framing comes from the body, never from the caller's fields: Content-Length when there
  is a body, and a zero one for POST, PUT and PATCH without one (RFC 9110 §8.6).
  `Connection: close` from the caller is honoured (and the connection is then not reused,
  RFC 9112 §9.6); other Connection values are dropped, keep-alive being HTTP/1.1's default.
- The client's default fields (User-Agent, Accept) go first, unless the caller sets a field
  of the same name; Accept-Encoding is never added (nothing here decompresses a body).
- User information in the URL becomes an Authorization field unless the caller set one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final, TypeAlias

from sws_client._session import Settings, Timeout
from sws_client._url import URL, parse_url
from sws_http import proto

__all__ = [
    "MAX_CACHED_SPECS",
    "Body",
    "HeadersIn",
    "RequestSpec",
    "build_head",
    "fields_of",
    "make_spec",
]

HeadersIn: TypeAlias = Mapping[str, str] | Iterable[tuple[str, str]]
Body: TypeAlias = bytes | bytearray | memoryview | str
_BODY_METHODS: Final = frozenset({"POST", "PUT", "PATCH"})  # RFC 9110 §8.6: send a length
_FRAMING: Final = frozenset({"content-length", "transfer-encoding"})
# Checked requests a client keeps (`make_spec`'s cache): a client mostly repeats a few.
MAX_CACHED_SPECS: Final = 256


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """A request as the caller asked for it, checked.

    Attributes:
        method: the method token.
        url: where to send it first.
        headers: the caller's fields (never framing fields or Connection).
        body: the body, or None.
        keep_alive: False when the caller asked for `Connection: close`.
        timeout: its timeouts.
        follow_redirects: whether 3xx responses with a Location are followed.
        stream: whether the body is handed over piece by piece.
        head: the request head for `url`, with the client's default fields.
    """

    method: str
    url: URL
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    keep_alive: bool
    timeout: Timeout
    follow_redirects: bool
    stream: bool
    head: bytes


def fields_of(headers: HeadersIn | None) -> list[tuple[str, str]]:
    """The `(name, value)` pairs of a mapping or an iterable of pairs, in order."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return [(str(k), str(v)) for k, v in headers.items()]
    return [(str(k), str(v)) for k, v in headers]


def make_spec(
    settings: Settings,
    method: str,
    url: str,
    headers: HeadersIn | None,
    body: Body | None,
    timeout: float | Timeout | None,
    follow_redirects: bool | None,
    stream: bool,
    cache: dict[tuple[str, str, bool], RequestSpec] | None = None,
) -> RequestSpec:
    """Check a request and fill in the client's defaults.

    Args:
        cache: checked requests with no fields, body, timeout or redirect choice of their
            own, by `(method, url, stream)`, for one `settings` (a spec is immutable, so
            each is shared by every request that asks the same; at most
            `MAX_CACHED_SPECS`, cleared whole when full).

    Raises:
        UnsupportedURLError: the URL cannot be requested.
        ValueError: a framing field, or a field or method the head cannot carry.
    """
    if (
        cache is None
        or headers
        or body is not None
        or timeout is not None
        or follow_redirects is not None
        or type(method) is not str
        or type(url) is not str
    ):
        return _make_spec(settings, method, url, headers, body, timeout, follow_redirects, stream)
    key = (method, url, stream)
    spec = cache.get(key)
    if spec is None:
        spec = _make_spec(settings, method, url, None, None, None, None, stream)
        if len(cache) >= MAX_CACHED_SPECS:
            cache.clear()
        cache[key] = spec
    return spec


def _make_spec(
    settings: Settings,
    method: str,
    url: str,
    headers: HeadersIn | None,
    body: Body | None,
    timeout: float | Timeout | None,
    follow_redirects: bool | None,
    stream: bool,
) -> RequestSpec:
    parsed = parse_url(url)
    fields = fields_of(headers)
    keep_alive = True
    for name, value in fields:
        lowered = name.lower()
        if lowered in _FRAMING:
            raise ValueError(f"{name} is set by the client from body=")
        if lowered == "connection":
            tokens = {t.strip(" \t").lower() for t in value.split(",")}
            keep_alive = keep_alive and "close" not in tokens
    fields = [f for f in fields if f[0].lower() != "connection"]
    if parsed.authorization and not any(n.lower() == "authorization" for n, _ in fields):
        fields.append(("Authorization", parsed.authorization))
    data = body.encode() if isinstance(body, str) else None if body is None else bytes(body)
    if timeout is None:
        limits = settings.timeout
    elif isinstance(timeout, Timeout):
        limits = timeout
    else:
        limits = replace(settings.timeout, total_s=timeout)
    head = build_head(settings.headers, method, parsed, fields, data, keep_alive)  # ValueError now
    follow = settings.follow_redirects if follow_redirects is None else follow_redirects
    return RequestSpec(
        method, parsed, tuple(fields), data, keep_alive, limits, follow, stream, head
    )


def build_head(
    defaults: Sequence[tuple[str, str]],
    method: str,
    url: URL,
    headers: Sequence[tuple[str, str]],
    body: bytes | None,
    keep_alive: bool,
) -> bytes:
    """The request head: the client's default fields the caller did not set, then theirs.

    Raises:
        ValueError: a field name or value `sws_http.proto.request_head` refuses.
    """
    named = {name.lower() for name, _ in headers}
    fields = [field for field in defaults if field[0].lower() not in named]
    fields.extend(headers)
    length = len(body) if body is not None else 0 if method in _BODY_METHODS else None
    return proto.request_head(
        method, url.target, url.authority, fields, content_length=length, keep_alive=keep_alive
    )
