"""The sws IO-thread runtime: one io_uring loop per thread, a slot pool, fibers, workers and TCP.

Not built yet: this package holds only its skeleton, and exports nothing. What it will be is
described in DESIGN.md §4 of the project.
"""

__all__: list[str] = []
