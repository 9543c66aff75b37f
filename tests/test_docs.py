"""Documentation that shows code must show the code that runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_uring_readme_shows_the_echo_example_verbatim() -> None:
    readme = (ROOT / "packages" / "uring" / "README.md").read_text()
    example = (ROOT / "packages" / "uring" / "src" / "uring" / "examples" / "echo.py").read_text()
    start = readme.index("## A complete program")
    block = readme[start:].split("```python\n", 1)[1].split("```", 1)[0]
    assert block == example
