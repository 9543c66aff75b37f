"""The sws outbound HTTP client and async DNS resolver, each on its own io_uring loop thread.

Not built yet: this package holds only its skeleton, and exports nothing. What it will be is
described in DESIGN.md §7 of the project.
"""

__all__: list[str] = []
