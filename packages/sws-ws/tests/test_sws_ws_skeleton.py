"""sws_ws is a skeleton: it installs and imports, and promises nothing it does not do."""

from __future__ import annotations

import sws_ws


def test_skeleton_exports_nothing_yet() -> None:
    assert sws_ws.__all__ == []
    assert sws_ws.__doc__ is not None
    assert "Not built yet" in sws_ws.__doc__
