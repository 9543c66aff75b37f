"""Request URLs and redirect rules, without IO.

Rules that hold in this module:

- Only `http://` URLs with a host are requested; `https://` is refused with a message that
  says why (TLS is a non-goal, DESIGN §10: put a TLS proxy in front), and so is any other
  scheme. Scheme and host are case-insensitive (RFC 3986 §3.1, §3.2.2).
- The host is a name (IDNA-encoded to ASCII when it is not), an IPv4 literal, or a
  bracketed IPv6 literal (`http://[::1]:8080/`); the port defaults to 80 and must be
  1-65535. User information (`user:pass@`) becomes a Basic `Authorization` field.
- The request-target is the path ("/" when empty, RFC 9112 §3.2.1) and the query, as given:
  existing %-escapes stay, and only bytes that may not appear in a target (spaces, controls,
  non-ASCII) are percent-encoded as UTF-8. The fragment is never sent (RFC 9110 §4.2.4).
- Redirects (RFC 9110 §15.4): a relative `Location` is resolved against the URL that got it
  (RFC 3986 §5); 303 turns any method but HEAD into GET without a body; so does 302 (as
  browsers, curl, requests and httpx do), and 301 for POST only (RFC 9110 §15.4.2 allows
  it "for historical reasons", and every client does it); 307 and 308 keep the method and
  the body. A redirect to another origin (host or port) drops the credentials (and a
  Host field the caller set).
"""

from __future__ import annotations

import base64
import ipaddress
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, unquote, urljoin, urlsplit

from sws_client._errors import UnsupportedURLError

__all__ = [
    "MAX_CACHED_URLS",
    "ORIGIN_FIELDS",
    "REDIRECT_STATUSES",
    "URL",
    "parse_url",
    "redirect_request",
]

DEFAULT_PORT: Final = 80  # RFC 9110 §4.2.1
REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
# RFC 3986 §2.2-2.3 characters a path or query keeps as they are, with "%" (escapes stay).
_SAFE: Final = "/?:@!$&'()*+,;=-._~%"
# Fields dropped on a redirect to another origin: credentials (as curl does without
# --location-trusted; httpx and requests drop Authorization), and a Host set by the caller,
# which named the old origin.
# Fields that carry credentials or name the origin: not sent to another origin after a
# redirect, whether the request or the client's defaults set them.
ORIGIN_FIELDS: Final = frozenset({"authorization", "proxy-authorization", "cookie", "host"})
# Parsed URLs kept for reuse: a client mostly requests the same few URLs, and parsing one
# costs microseconds (urlsplit, quote). Cleared whole when full (a URL is parsed again).
MAX_CACHED_URLS: Final = 256
_parsed: dict[str, URL] = {}  # filled by parse_url; URL is immutable, so entries are shared
# Fields that describe the body: dropped when a redirect turns the request into a GET.
_CONTENT_FIELDS: Final = frozenset({"content-type", "content-encoding", "content-language"})


@dataclass(frozen=True, slots=True)
class URL:
    """A parsed `http://` URL, ready to connect to and to write a request for.

    Attributes:
        host: the host to connect to: a name (ASCII), or an IPv4/IPv6 literal (no brackets).
        port: the TCP port.
        target: the request-target: path and query, escaped ("/" at least).
        authority: the Host field's value: host (IPv6 in brackets), and ":port" unless 80.
        authorization: a Basic credential from the URL's user information, or None.
    """

    host: str
    port: int
    target: str
    authority: str
    authorization: str | None = None

    @property
    def origin(self) -> tuple[str, int]:
        """`(host, port)`: what the keep-alive pool and the credential rule go by."""
        return (self.host, self.port)

    def __str__(self) -> str:
        return f"http://{self.authority}{self.target}"


def parse_url(url: str) -> URL:
    """Parse an absolute `http://` URL (the last `MAX_CACHED_URLS` parsed are kept).

    Args:
        url: the URL, e.g. "http://example.com:8080/path?q=1" or "http://[::1]/".

    Returns:
        The parsed URL.

    Raises:
        UnsupportedURLError: not `http://` (`https://` included), no host, a bad port or
            host, or control characters in the URL.
    """
    if type(url) is str:  # a str subclass may hash or compare differently: not cached
        parsed = _parsed.get(url)
        if parsed is not None:
            return parsed
        parsed = _parse(url)
        if len(_parsed) >= MAX_CACHED_URLS:
            _parsed.clear()
        _parsed[url] = parsed
        return parsed
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, not {type(url).__name__}")
    return _parse(url)


def _parse(url: str) -> URL:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsupportedURLError(f"control character in URL {url!r}")
    try:
        parts = urlsplit(url.strip(" "))
    except ValueError as exc:  # "Invalid IPv6 URL": an unbalanced bracket
        raise UnsupportedURLError(f"invalid URL {url!r}: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme == "https":
        raise UnsupportedURLError(
            f"https is not supported ({url!r}): sws_client speaks plain HTTP only, TLS is a "
            "non-goal; reach TLS servers through a local TLS proxy (stunnel, nginx, haproxy)"
        )
    if scheme != "http":
        raise UnsupportedURLError(f"only http:// URLs are supported, not {url!r}")
    try:
        port = parts.port
    except ValueError as exc:
        raise UnsupportedURLError(f"invalid port in URL {url!r}") from exc
    if port is None:
        port = DEFAULT_PORT
    elif port == 0:
        raise UnsupportedURLError(f"port 0 in URL {url!r}")
    host = _host(parts.hostname or "", url)
    authority = f"[{host}]" if ":" in host else host
    if port != DEFAULT_PORT:
        authority = f"{authority}:{port}"
    target = quote(parts.path or "/", safe=_SAFE)
    if parts.query or url.partition("#")[0].endswith("?"):
        target = f"{target}?{quote(parts.query, safe=_SAFE)}"
    if not target.startswith("/"):
        raise UnsupportedURLError(f"URL {url!r} has no absolute path")
    authorization = None
    if parts.username is not None:
        user = unquote(parts.username)
        password = unquote(parts.password or "")
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        authorization = f"Basic {token}"
    return URL(host, port, target, authority, authorization)


def _host(hostname: str, url: str) -> str:
    if not hostname:
        raise UnsupportedURLError(f"URL {url!r} has no host")
    if ":" in hostname:  # urlsplit took it out of brackets: it must be an IPv6 literal
        if "%" in hostname:
            raise UnsupportedURLError(f"IPv6 zone identifiers are not supported: {url!r}")
        try:
            return str(ipaddress.IPv6Address(hostname))
        except ValueError as exc:
            raise UnsupportedURLError(f"invalid IPv6 address in URL {url!r}") from exc
    if hostname.isascii():
        if not all(c.isalnum() or c in "-._" for c in hostname):
            raise UnsupportedURLError(f"invalid host {hostname!r} in URL {url!r}")
        return hostname
    try:
        return hostname.encode("idna").decode("ascii")  # RFC 3490: names go out as A-labels
    except UnicodeError as exc:
        raise UnsupportedURLError(f"host {hostname!r} cannot be IDNA-encoded") from exc


def is_ip_literal(host: str) -> bool:
    """Whether `host` is a numeric IPv4 or IPv6 address (used as is, never resolved)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def redirect_request(
    status: int,
    location: str,
    url: URL,
    method: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
) -> tuple[URL, str, list[tuple[str, str]], bytes | None]:
    """The request to send after a redirect response (RFC 9110 §15.4).

    Args:
        status: the redirect status (one of `REDIRECT_STATUSES`).
        location: the Location field, absolute or relative.
        url: the URL the redirect answered.
        method: the method of the request that got the redirect.
        headers: the caller's fields of that request (not Host or framing).
        body: its body.

    Returns:
        `(url, method, headers, body)` of the next request.

    Raises:
        UnsupportedURLError: the Location is not an `http://` URL after resolution.
    """
    try:
        joined = urljoin(str(url), location.strip(" \t"))
    except ValueError as exc:
        raise UnsupportedURLError(f"invalid Location {location!r}: {exc}") from exc
    new_url = parse_url(joined)
    if (
        (status == 303 and method != "HEAD")
        or (status == 302 and method != "HEAD")
        or (status == 301 and method == "POST")
    ):
        method, body = "GET", None
    drop: set[str] = set()
    if body is None:
        drop |= _CONTENT_FIELDS
    if new_url.origin != url.origin:
        drop |= ORIGIN_FIELDS
    if drop:
        headers = [(n, v) for n, v in headers if n.lower() not in drop]
    return new_url, method, headers, body
