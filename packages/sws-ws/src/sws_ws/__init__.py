"""The sws WebSocket server: RFC 6455 and permessage-deflate on top of sws-http, with pub/sub.

Not built yet: this package holds only its skeleton, and exports nothing. What it will be is
described in DESIGN.md §6 of the project.
"""

__all__: list[str] = []
