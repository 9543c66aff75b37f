"""`sws_http.proto._remembered`: bounded tables of results remembered by their input."""

from __future__ import annotations

from typing import Any

from sws_http.proto._remembered import head_table, remember


def test_remember_keeps_at_most_capacity_entries_and_empties_when_full() -> None:
    table: dict[Any, Any] = {}
    for i in range(3):
        remember(table, i, str(i), 3)
    assert table == {0: "0", 1: "1", 2: "2"}
    remember(table, 3, "3", 3)  # full: emptied first
    assert table == {3: "3"}


def test_head_table_is_one_table_per_set_of_limits() -> None:
    tables: dict[tuple[int, ...], dict[bytes, Any]] = {}
    loose = head_table(tables, (100, 10))
    assert head_table(tables, (100, 10)) is loose
    tight = head_table(tables, (50, 10))
    assert tight is not loose
    assert tables == {(100, 10): loose, (50, 10): tight}
