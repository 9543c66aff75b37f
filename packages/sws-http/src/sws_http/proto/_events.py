"""The events `RequestParser.next_event` returns, and `Headers`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final


class Headers:
    """Header fields in arrival order: names lower-cased, values as sent (latin-1 text).

    Repeated fields are kept, each as its own entry; `get` returns the first, `get_all`
    every one. A parser may hand over the raw, already validated field section instead of
    a list: it is split into fields only when a handler first looks (most never look at
    most fields, and splitting them is most of the cost of a request head in Python).
    """

    __slots__ = ("_fields", "_raw")

    def __init__(self, fields: list[tuple[str, str]] | None = None, *, raw: bytes = b"") -> None:
        self._fields = fields if fields is not None else ([] if not raw else None)
        self._raw = raw

    @property
    def fields(self) -> list[tuple[str, str]]:
        """The `(name, value)` pairs, in order (split from the raw section on first use)."""
        fields = self._fields
        if fields is None:
            fields = []
            for line in self._raw.decode("latin-1").split("\r\n"):
                name, _, value = line.partition(":")
                fields.append((name.lower(), value.strip(" \t")))
            self._fields = fields
        return fields

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of field `name` (any case), or `default`."""
        name = name.lower()
        for n, v in self.fields:
            if n == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of field `name` (any case), in order."""
        name = name.lower()
        return [v for n, v in self.fields if n == name]

    def items(self) -> list[tuple[str, str]]:
        """The `(name, value)` pairs, in order (a copy)."""
        return list(self.fields)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self.fields == other.fields

    def __repr__(self) -> str:
        return f"Headers({self.fields!r})"


@dataclass(slots=True, frozen=True, eq=False)
class Request:
    """A request head (RFC 9112 §3), read-only: requests whose heads are byte for byte the
    same may share one.

    Attributes:
        method: the method token, as sent ("GET").
        target: the request-target, as sent.
        path: the path of the target, not percent-decoded ("*" for asterisk-form).
        query: what follows the first "?" of the target, without it ("" when none).
        http_version: "1.1" or "1.0".
        headers: every header field (read it, never change it: it may be shared too).
        host: the Host field, or the authority of an absolute-form target (which wins).
        keep_alive: whether the connection may carry another request after this one.
        content_length: the body's length; None for a chunked body; 0 when there is none.
        chunked: whether the body uses chunked transfer coding.
        expect_continue: the client waits for "100 Continue" before sending the body.
    """

    method: str
    target: str
    path: str
    query: str
    http_version: str
    headers: Headers
    host: str
    keep_alive: bool
    content_length: int | None
    chunked: bool
    expect_continue: bool


@dataclass(slots=True, frozen=True)
class Data:
    """Body bytes, in order; a body may arrive as any number of these."""

    data: bytes


@dataclass(slots=True, frozen=True)
class EndOfMessage:
    """The body is complete; `trailers` holds a chunked body's trailer fields."""

    trailers: Headers = field(default_factory=Headers)


class NeedData:
    """`next_event` has nothing until more bytes are fed (the `NEED_DATA` singleton)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData()
