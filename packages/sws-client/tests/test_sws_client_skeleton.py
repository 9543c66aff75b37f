"""sws_client is a skeleton: it installs and imports, and promises nothing it does not do."""

from __future__ import annotations

import sws_client


def test_skeleton_exports_nothing_yet() -> None:
    assert sws_client.__all__ == []
    assert sws_client.__doc__ is not None
    assert "Not built yet" in sws_client.__doc__
