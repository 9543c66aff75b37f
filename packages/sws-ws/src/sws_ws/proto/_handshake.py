"""The opening handshake, server side (RFC 6455 §4.2), and permessage-deflate negotiation
(RFC 7692 §7.1).

`server_handshake` validates an upgrade request and returns what to answer with "101
Switching Protocols"; the HTTP layer decides which requests to hand it (a request without
`Upgrade` may be meant for an ordinary route). The request must be a GET over HTTP/1.1 or
later, with `Upgrade: websocket` and `Connection: upgrade` among their comma-separated
tokens, one `Sec-WebSocket-Key` that is the base64 form of 16 bytes, and `Sec-WebSocket-Version:
13`; a wrong version answers 426 with the version we speak, anything else 400.

Negotiation never fails the handshake: a subprotocol the server does not support is not
chosen, and a permessage-deflate offer with an unknown, repeated or invalid parameter is
declined (the connection goes on uncompressed) so the next offer may be accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sws_ws.proto._deflate import DeflateParams
from sws_ws.proto._errors import HandshakeError

GUID: Final = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3
VERSION: Final = "13"  # RFC 6455 §4.1, the only version

_TOKEN: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_TOKEN_RE = re.compile(_TOKEN)
_OWS: Final = r"[ \t]*"
# extension = extension-token *( ";" extension-param ) (RFC 6455 §9.1)
_EXT_NAME = re.compile(rf"{_OWS}({_TOKEN}){_OWS}")
# extension-param = token [ "=" (token | quoted-string) ]
_EXT_PARAM = re.compile(
    rf';{_OWS}({_TOKEN}){_OWS}(?:={_OWS}(?:({_TOKEN})|"((?:[^"\\]|\\.)*)"){_OWS})?'
)
_QUOTED_PAIR = re.compile(r"\\(.)")
_WINDOW_BITS = re.compile(r"[89]|1[0-5]")  # 8-15, no leading zeros (RFC 7692 §7.1.2.1)

Params = list[tuple[str, str | None]]


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (RFC 6455 §4.2.2).

    Args:
        key: the client's key, as sent.

    Returns:
        base64(SHA-1(key + the RFC's GUID)).
    """
    digest = hashlib.sha1((key + GUID).encode("ascii"), usedforsecurity=False).digest()
    return base64.b64encode(digest).decode("ascii")


@dataclass(frozen=True, slots=True)
class Handshake:
    """An accepted upgrade: answer "101 Switching Protocols" with `response_headers`.

    Attributes:
        subprotocol: the chosen subprotocol, or None.
        deflate: the negotiated permessage-deflate parameters, or None for no compression;
            pass them to `ServerConnection(deflate=...)`.
        response_headers: Upgrade, Connection, Sec-WebSocket-Accept, and when negotiated
            Sec-WebSocket-Protocol and Sec-WebSocket-Extensions, in that order.
    """

    subprotocol: str | None
    deflate: DeflateParams | None
    response_headers: list[tuple[str, str]]


def server_handshake(
    method: str,
    http_version: str,
    headers: Sequence[tuple[str, str]],
    *,
    subprotocols: Sequence[str] = (),
    deflate: bool = True,
    server_no_context_takeover: bool = False,
    server_max_window_bits: int = 15,
    client_no_context_takeover: bool = False,
    client_max_window_bits: int | None = None,
) -> Handshake:
    """Validate an upgrade request and negotiate the subprotocol and compression.

    Args:
        method: the request method ("GET").
        http_version: "1.1" (or "HTTP/1.1"); HTTP/1.1 or later is required.
        headers: the request's fields as (lower-case name, value) pairs, in order; list
            fields repeated over several lines are joined.
        subprotocols: the subprotocols the server speaks; the first of the client's
            offers (in the client's order) found here is chosen.
        deflate: accept permessage-deflate when the client offers it.
        server_no_context_takeover: compress every message we send from an empty window
            (less memory per connection, worse compression).
        server_max_window_bits: the largest window we compress with, 8-15.
        client_no_context_takeover: ask the client to compress each message on its own.
        client_max_window_bits: the largest window the client may compress with, 9-15
            (granted only if the client offers the parameter); None leaves it to the client.

    Returns:
        The accepted `Handshake`.

    Raises:
        HandshakeError: 400 for a request that is not a valid upgrade, 426 (with a
            `Sec-WebSocket-Version: 13` header) for a version other than 13.
        ValueError: a window size outside its range.
    """
    if not 8 <= server_max_window_bits <= 15:
        raise ValueError(f"server_max_window_bits is 8-15, got {server_max_window_bits}")
    if client_max_window_bits is not None and not 9 <= client_max_window_bits <= 15:
        # 8 is refused too: zlib (and so most clients) cannot compress with it.
        raise ValueError(f"client_max_window_bits is 9-15, got {client_max_window_bits}")
    if method != "GET":
        raise HandshakeError(f"a websocket upgrade uses GET, got {method[:64]!r}")
    if not _is_http_11_or_later(http_version):
        raise HandshakeError(
            f"a websocket upgrade needs http/1.1 or later, got {http_version[:64]!r}"
        )
    if "websocket" not in _tokens(headers, "upgrade", lower=True):
        raise HandshakeError(
            f"upgrade header {_joined(headers, 'upgrade')[:64]!r} lacks 'websocket'"
        )
    if "upgrade" not in _tokens(headers, "connection", lower=True):
        raise HandshakeError(
            f"connection header {_joined(headers, 'connection')[:64]!r} lacks 'upgrade'"
        )
    versions = _values(headers, "sec-websocket-version")
    if versions != [VERSION]:
        raise HandshakeError(
            f"sec-websocket-version must be {VERSION}, got {', '.join(versions)[:64] or 'none'!r}",
            426,
            [("Sec-WebSocket-Version", VERSION)],
        )
    keys = _values(headers, "sec-websocket-key")
    if len(keys) != 1:
        raise HandshakeError(f"sec-websocket-key must appear once, got {len(keys)} times")
    key = keys[0]
    try:
        raw = base64.b64decode(key, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 16:
        raise HandshakeError(f"sec-websocket-key must be base64 of 16 bytes, got {key[:64]!r}")

    response = [
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Accept", accept_key(key)),
    ]
    subprotocol = None
    if subprotocols:
        subprotocol = next(
            (p for p in _tokens(headers, "sec-websocket-protocol") if p in subprotocols), None
        )
        if subprotocol is not None:
            response.append(("Sec-WebSocket-Protocol", subprotocol))
    params = None
    if deflate:
        for name, offer in parse_extensions(_joined(headers, "sec-websocket-extensions")):
            if name != "permessage-deflate" or offer is None:
                continue
            accepted = _accept_deflate(
                offer,
                server_no_context_takeover=server_no_context_takeover,
                server_max_window_bits=server_max_window_bits,
                client_no_context_takeover=client_no_context_takeover,
                client_max_window_bits=client_max_window_bits,
            )
            if accepted is not None:
                params, header = accepted
                response.append(("Sec-WebSocket-Extensions", header))
                break
    return Handshake(subprotocol, params, response)


def parse_extensions(value: str) -> list[tuple[str, Params | None]]:
    """The elements of a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1), in order.

    Args:
        value: the field value (repeated fields joined with ",").

    Returns:
        (lower-case name, parameters) for each element; parameters are (lower-case name,
        value or None) with quoted values unquoted, or None when the element is malformed.
        Empty elements are skipped.
    """
    out: list[tuple[str, Params | None]] = []
    pos, end = 0, len(value)
    while pos < end:
        m = _EXT_NAME.match(value, pos)
        if m is None:
            comma = value.find(",", pos)
            comma = end if comma < 0 else comma
            if value[pos:comma].strip(" \t"):
                out.append(("", None))
            pos = comma + 1
            continue
        name = m.group(1).lower()
        pos = m.end()
        params: Params | None = []
        while (pm := _EXT_PARAM.match(value, pos)) is not None:
            param_value = pm.group(2)
            quoted = pm.group(3)
            if quoted is not None:
                # A quoted value must still be a token once unquoted (RFC 6455 §9.1).
                param_value = _QUOTED_PAIR.sub(r"\1", quoted)
                if _TOKEN_RE.fullmatch(param_value) is None:
                    params = None
            if params is not None:
                params.append((pm.group(1).lower(), param_value))
            pos = pm.end()
        if pos < end and value[pos] != ",":
            params = None  # junk where a ";" or "," should be: skip to the next element
            comma = value.find(",", pos)
            pos = end if comma < 0 else comma
        out.append((name, params))
        pos += 1
    return out


def _accept_deflate(
    offer: Params,
    *,
    server_no_context_takeover: bool,
    server_max_window_bits: int,
    client_no_context_takeover: bool,
    client_max_window_bits: int | None,
) -> tuple[DeflateParams, str] | None:
    """Our answer to one permessage-deflate offer (RFC 7692 §7.1), or None to decline it."""
    seen: set[str] = set()
    server_nct = client_nct = False
    server_bits: int | None = None
    client_bits_offered = False
    client_bits: int | None = None
    for name, value in offer:
        if name in seen:  # §7.1: a repeated parameter makes the offer invalid
            return None
        seen.add(name)
        if name == "server_no_context_takeover" and value is None:
            server_nct = True
        elif name == "client_no_context_takeover" and value is None:
            client_nct = True
        elif name == "server_max_window_bits" and value is not None:
            if _WINDOW_BITS.fullmatch(value) is None:
                return None
            server_bits = int(value)
        elif name == "client_max_window_bits":
            client_bits_offered = True
            if value is not None:
                if _WINDOW_BITS.fullmatch(value) is None:
                    return None
                client_bits = int(value)
        else:  # an unknown parameter, or a value where none belongs (or the reverse)
            return None

    server_nct = server_nct or server_no_context_takeover
    client_nct = client_nct or client_no_context_takeover
    answer = ["permessage-deflate"]
    if server_nct:
        answer.append("server_no_context_takeover")
    if client_nct:
        answer.append("client_no_context_takeover")
    # §7.1.2.1: answer with the client's value or a smaller one; we may also announce our
    # own limit when the client named none.
    bits = min(server_bits or 15, server_max_window_bits)
    if server_bits is not None or bits < 15:
        answer.append(f"server_max_window_bits={bits}")
    # §7.1.2.2: only a client that offered client_max_window_bits may be given a value,
    # no larger than the one it offered; a client's value alone is a promise it keeps.
    peer_bits = 15
    if client_bits_offered and (client_max_window_bits is not None or client_bits is not None):
        peer_bits = min(client_bits or 15, client_max_window_bits or 15)
        answer.append(f"client_max_window_bits={peer_bits}")
    params = DeflateParams(server_nct, client_nct, bits, peer_bits)
    return params, "; ".join(answer)


def _is_http_11_or_later(version: str) -> bool:
    major, _, minor = version.removeprefix("HTTP/").partition(".")
    if not major.isdigit() or not (minor.isdigit() or minor == ""):
        return False
    return (int(major), int(minor or 0)) >= (1, 1)


def _values(headers: Sequence[tuple[str, str]], name: str) -> list[str]:
    return [value.strip(" \t") for n, value in headers if n == name]


def _joined(headers: Sequence[tuple[str, str]], name: str) -> str:
    return ", ".join(_values(headers, name))


def _tokens(headers: Sequence[tuple[str, str]], name: str, *, lower: bool = False) -> list[str]:
    """The non-empty elements of a comma-separated list field (RFC 9110 §5.6.1)."""
    joined = _joined(headers, name)
    if lower:
        joined = joined.lower()
    return [t for t in (item.strip(" \t") for item in joined.split(",")) if t]
