"""sws_http is a skeleton: it installs and imports, and promises nothing it does not do."""

from __future__ import annotations

import sws_http


def test_skeleton_exports_nothing_yet() -> None:
    assert sws_http.__all__ == []
    assert sws_http.__doc__ is not None
    assert "Not built yet" in sws_http.__doc__
