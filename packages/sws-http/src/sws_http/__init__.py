"""The sws HTTP/1.1 server: routing, middleware, a strict sans-IO parser, workers and a CLI.

Not built yet: this package holds only its skeleton, and exports nothing. What it will be is
described in DESIGN.md §5 of the project.
"""

__all__: list[str] = []
