"""sws_core is a skeleton: it installs and imports, and promises nothing it does not do."""

from __future__ import annotations

import sws_core


def test_skeleton_exports_nothing_yet() -> None:
    assert sws_core.__all__ == []
    assert sws_core.__doc__ is not None
    assert "Not built yet" in sws_core.__doc__
