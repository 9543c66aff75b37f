"""nginx, one process, answering `hello` on every path (see nginx.conf.template).

Run: python bench/servers/http_nginx.py --port PORT --dir DIR   (SIGTERM stops it)

Writes `DIR/nginx-PORT/nginx.conf` from the template and then execs nginx in place of this
Python process, so the PID the harness started and samples is nginx itself
(`master_process off`: the process that accepts is the one that serves). DIR must exist;
bench/http.py makes one temporary directory per benchmark run and removes it at the end.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", type=Path, required=True)
    args = parser.parse_args(argv)
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if nginx is None:
        sys.exit("nginx not found: install it with `apt-get install -y nginx`")
    workdir = args.dir.resolve() / f"nginx-{args.port}"
    workdir.mkdir(parents=True, exist_ok=True)
    conf = TEMPLATE.read_text(encoding="utf-8")
    conf = conf.replace("{port}", str(args.port)).replace("{dir}", str(workdir))
    (workdir / "nginx.conf").write_text(conf, encoding="utf-8")
    sys.stdout.flush()
    os.execv(nginx, [nginx, "-p", str(workdir), "-e", "stderr", "-c", str(workdir / "nginx.conf")])


if __name__ == "__main__":
    main()
