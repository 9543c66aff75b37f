"""TCP echo server on uvloop: the Protocol of `asyncio_echo.py` on uvloop's event loop.

Run: python bench/servers/uvloop_echo.py --port PORT   (SIGTERM or SIGINT stops it)
"""

from __future__ import annotations

import uvloop
from asyncio_echo import main  # this script's folder is on sys.path

if __name__ == "__main__":
    main(uvloop.run)
