"""`python -m uring`: print what this kernel's io_uring offers.

The kernel release, the features a default ring reports, every setup flag with whether the
kernel accepts it, and every opcode with whether the probe says it is supported.
"""

from __future__ import annotations

import sys

from uring._constants import Feature, Op, SetupFlag
from uring._probe import fast_setup_flags, kernel_release, setup_flag_support
from uring._ring import Ring
from uring._syscall import IoUringUnavailableError


def _mark(value: bool | None) -> str:
    return {True: "yes", False: "no", None: "not tried"}[value]


def report() -> str:
    """Return the capability report as text.

    Raises:
        IoUringUnavailableError: io_uring is unavailable (the message says why and how).
    """
    lines = [f"kernel {kernel_release()}"]
    with Ring(8) as ring:
        features = ring.features
        probe = ring.probe()
    lines.append("")
    lines.append("features:")
    lines.extend(f"  {f.name:<18} {_mark(bool(features & f))}" for f in Feature)
    lines.append("")
    lines.append("setup flags:")
    for flag, ok in setup_flag_support().items():
        lines.append(f"  {flag.name:<18} {_mark(ok)}")
    fast = fast_setup_flags()
    names = "|".join(f.name or "" for f in SetupFlag if f & fast) or "none"
    lines.append(f"  event-loop choice: {names}")
    lines.append("")
    lines.append(f"opcodes (probe, last_op={probe.last_op}):")
    known = {int(op) for op in Op}
    for op in Op:
        lines.append(f"  {op.value:>3} {op.name:<18} {_mark(probe.is_supported(op))}")
    for value in sorted(probe.supported - known):
        lines.append(f"  {value:>3} {'(newer than uring)':<18} yes")
    supported = sum(probe.is_supported(op) for op in Op)
    lines.append(f"  {supported} of {len(Op)} known opcodes supported")
    return "\n".join(lines)


def main() -> int:
    """Print the report; exit 1 with the reason when io_uring is unavailable."""
    try:
        print(report())
    except IoUringUnavailableError as exc:
        print(f"io_uring unavailable: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
