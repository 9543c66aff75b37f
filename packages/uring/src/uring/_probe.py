"""What this kernel's io_uring offers: setup flags that work, and which opcodes exist.

The opcode probe asks the kernel (`Ring.probe`). Setup flags cannot be asked for: the only
test is to create a small ring with the flag and see whether the kernel accepts it, which
is what `setup_flag_support` does, once per flag, each ring closed at once.
"""

from __future__ import annotations

import os

from uring._constants import SetupFlag
from uring._ring import Ring

# Flags that need a companion to be valid on their own, and the companion to test with.
_COMPANIONS: dict[SetupFlag, SetupFlag] = {
    SetupFlag.DEFER_TASKRUN: SetupFlag.SINGLE_ISSUER,
    SetupFlag.TASKRUN_FLAG: SetupFlag.COOP_TASKRUN,
    SetupFlag.SQ_AFF: SetupFlag.SQPOLL,
    SetupFlag.HYBRID_IOPOLL: SetupFlag.IOPOLL,
}
# Flags that need caller-provided memory or device files; not tried.
_UNTESTED = SetupFlag.NO_MMAP | SetupFlag.REGISTERED_FD_ONLY


def _try_flags(flags: SetupFlag) -> bool:
    kwargs: dict[str, int] = {}
    if flags & SetupFlag.CQSIZE:
        kwargs["cq_entries"] = 16
    if flags & SetupFlag.SQ_AFF:
        kwargs["sq_thread_cpu"] = 0
    helper = Ring(4) if flags & SetupFlag.ATTACH_WQ else None
    try:
        if helper is not None:
            kwargs["wq_fd"] = helper.fd
        with Ring(4, flags, **kwargs):
            return True
    except OSError:
        return False
    finally:
        if helper is not None:
            helper.close()


def setup_flag_support() -> dict[SetupFlag, bool | None]:
    """Try every setup flag on a 4-entry ring.

    Returns:
        For each `SetupFlag`: True if the kernel accepted it, False if it refused, None if
        it was not tried (flags that need caller-provided memory).

    Raises:
        IoUringUnavailableError: io_uring itself is unavailable.
    """
    Ring(4).close()  # raises the clear "io_uring unavailable" error before any loop
    result: dict[SetupFlag, bool | None] = {}
    for flag in SetupFlag:
        if flag & _UNTESTED:
            result[flag] = None
        else:
            result[flag] = _try_flags(flag | _COMPANIONS.get(flag, SetupFlag(0)))
    return result


def fast_setup_flags() -> SetupFlag:
    """Return the setup flags a single-threaded event loop should use on this kernel.

    SINGLE_ISSUER with DEFER_TASKRUN where accepted (else COOP_TASKRUN with TASKRUN_FLAG),
    plus SUBMIT_ALL and NO_SQARRAY where accepted. See DESIGN.md §11 for the measurements.
    """
    chosen = SetupFlag(0)
    for candidate in (
        SetupFlag.SINGLE_ISSUER | SetupFlag.DEFER_TASKRUN,
        SetupFlag.COOP_TASKRUN | SetupFlag.TASKRUN_FLAG,
    ):
        if _try_flags(candidate):
            chosen |= candidate
            break
    for extra in (SetupFlag.SUBMIT_ALL, SetupFlag.NO_SQARRAY):
        if _try_flags(chosen | extra):
            chosen |= extra
    return chosen


def kernel_release() -> str:
    """Return the running kernel's release string (`uname -r`)."""
    return os.uname().release
