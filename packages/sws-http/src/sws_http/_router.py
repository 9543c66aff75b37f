"""`Router`: method + path -> handler, with `{name}` parameters and a `{name:path}` tail.

Patterns are split into segments once, at registration. A static segment must match
exactly; `{name}` matches one non-empty segment; `{name:path}` (only last) matches the
rest of the path, slashes included. Paths are matched segment by segment, each segment
percent-decoded on its own (so an encoded "/" never splits a segment). Static routes are
found in one dict lookup; parametric
ones are tried in registration order. A path that matches some route but not its method
gives 405 with the methods that would have matched (RFC 9110 §15.5.6); GET routes also
answer HEAD.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, NamedTuple
from urllib.parse import unquote

Handler = Callable[..., Any]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")
_METHOD = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Z]+")


@dataclass(frozen=True, slots=True)
class Route:
    """One registered route."""

    pattern: str
    methods: frozenset[str]
    handler: Handler
    segments: tuple[str | tuple[str, bool], ...]  # static text, or (name, is_tail)


class Match(NamedTuple):
    """The result of a lookup: a handler and its parameters, or the status to answer.

    A static route's match is made once, at registration, and returned for every lookup:
    its (empty) `params` is shared, so copy it before changing it.
    """

    handler: Handler | None
    params: dict[str, str]
    status: int  # 200 when a handler was found, else 404 or 405
    allow: tuple[str, ...] = ()


_NOT_FOUND: Final = Match(None, {}, 404)


class Router:
    """Routes by method and path pattern."""

    def __init__(self) -> None:
        # The routes without parameters: path -> method -> its match, read-only outside.
        # A caller may look a path without "%" up here itself, before calling `match`.
        self.static: dict[str, dict[str, Match]] = {}
        self._dynamic: list[Route] = []

    def add(self, pattern: str, methods: list[str] | tuple[str, ...], handler: Handler) -> None:
        """Register `handler` for `methods` on `pattern`.

        Raises:
            ValueError: the pattern does not start with "/", names a parameter twice, has
                a `{name:path}` that is not last, or a method is not an upper-case token.
        """
        if not pattern.startswith("/"):
            raise ValueError(f"route {pattern!r} must start with '/'")
        wanted = frozenset(methods)
        for method in wanted:
            if not _METHOD.fullmatch(method):
                raise ValueError(f"method {method!r} is not an upper-case token")
        segments = self._compile(pattern)
        if all(isinstance(s, str) for s in segments):
            by_method = self.static.setdefault(pattern, {})
            for method in wanted:
                by_method[method] = Match(handler, {}, 200)
            return
        self._dynamic.append(Route(pattern, wanted, handler, segments))

    @staticmethod
    def _compile(pattern: str) -> tuple[str | tuple[str, bool], ...]:
        parts = pattern.split("/")[1:]
        segments: list[str | tuple[str, bool]] = []
        names: set[str] = set()
        for i, part in enumerate(parts):
            m = _PARAM.fullmatch(part)
            if m is None:
                if "{" in part or "}" in part:
                    raise ValueError(f"route {pattern!r}: bad parameter segment {part!r}")
                segments.append(part)
                continue
            name, tail = m.group(1), bool(m.group(2))
            if name in names:
                raise ValueError(f"route {pattern!r} names {name!r} twice")
            if tail and i != len(parts) - 1:
                raise ValueError(f"route {pattern!r}: {{{name}:path}} must be last")
            names.add(name)
            segments.append((name, tail))
        return tuple(segments)

    def match(self, method: str, path: str) -> Match:
        """Find the handler for `method` on the raw (not yet percent-decoded) `path`.

        Each segment is decoded on its own, so "%2F" stays inside its segment ("a%2Fb"
        is one parameter "a/b", never two segments), and parameters come out decoded.
        HEAD falls back to GET.
        """
        parts: list[str] | None
        if "%" in path:
            parts = [unquote(part) for part in path.split("/")[1:]]
            static_key = None if any("/" in p for p in parts) else "/" + "/".join(parts)
            by_method = self.static.get(static_key) if static_key is not None else None
        else:
            by_method = self.static.get(path)
            parts = None
        if by_method is not None:
            found = by_method.get(method) or (by_method.get("GET") if method == "HEAD" else None)
            if found is not None:
                return found
        if not self._dynamic and by_method is None:
            return _NOT_FOUND
        if parts is None:
            parts = path.split("/")[1:]
        allowed: set[str] = set(by_method or ())
        for route in self._dynamic:
            params = _match_segments(route.segments, parts)
            if params is None:
                continue
            if method in route.methods or (method == "HEAD" and "GET" in route.methods):
                return Match(route.handler, params, 200)
            allowed |= route.methods
        if not allowed:
            return _NOT_FOUND
        if "GET" in allowed:
            allowed.add("HEAD")
        return Match(None, {}, 405, tuple(sorted(allowed)))


def _match_segments(
    segments: tuple[str | tuple[str, bool], ...], parts: list[str]
) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for i, segment in enumerate(segments):
        if isinstance(segment, str):
            if i >= len(parts) or parts[i] != segment:
                return None
            continue
        name, tail = segment
        if tail:
            params[name] = "/".join(parts[i:])
            return params
        if i >= len(parts) or not parts[i]:
            return None
        params[name] = parts[i]
    return params if len(parts) == len(segments) else None
