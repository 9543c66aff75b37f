"""Bounded tables of results remembered by their input (parsed heads, built header lines).

A server and its clients repeat themselves: the same request heads, the same response
heads, the same header lines. Each table maps an input to what was made of it once; it is
emptied when full, so an input that never repeats costs one insertion and no memory
beyond the bound. Plain dicts: safe to share between threads under the GIL.
"""

from __future__ import annotations

from typing import Any


def remember(table: dict[Any, Any], key: Any, value: Any, capacity: int) -> None:
    """Put `key` -> `value` in `table`, emptying it first when it holds `capacity`."""
    if len(table) >= capacity:
        table.clear()
    table[key] = value


def head_table(tables: dict[tuple[int, ...], dict[bytes, Any]], limits: tuple[int, ...]) -> Any:
    """The table of heads remembered under `limits` (a limit can turn an accepted head
    into an error, so each set of limits has its own), made on first use."""
    table = tables.get(limits)
    if table is None:
        table = tables.setdefault(limits, {})
    return table
