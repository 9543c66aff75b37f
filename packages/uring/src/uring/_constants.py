"""The kernel's io_uring constants, named as `<linux/io_uring.h>` names them minus the prefix.

`IORING_OP_RECV` is `Op.RECV`, `IORING_SETUP_SQPOLL` is `SetupFlag.SQPOLL`, `IOSQE_IO_LINK`
is `SqeFlag.IO_LINK`, `IORING_CQE_F_MORE` is `CqeFlag.MORE`. Values are ABI: they never change
once a kernel has shipped them, so they are written out here rather than read from headers.
"""

from __future__ import annotations

import enum


class Op(enum.IntEnum):
    """Opcodes (`enum io_uring_op`): the value written to `sqe->opcode`."""

    NOP = 0
    READV = 1
    WRITEV = 2
    FSYNC = 3
    READ_FIXED = 4
    WRITE_FIXED = 5
    POLL_ADD = 6
    POLL_REMOVE = 7
    SYNC_FILE_RANGE = 8
    SENDMSG = 9
    RECVMSG = 10
    TIMEOUT = 11
    TIMEOUT_REMOVE = 12
    ACCEPT = 13
    ASYNC_CANCEL = 14
    LINK_TIMEOUT = 15
    CONNECT = 16
    FALLOCATE = 17
    OPENAT = 18
    CLOSE = 19
    FILES_UPDATE = 20
    STATX = 21
    READ = 22
    WRITE = 23
    FADVISE = 24
    MADVISE = 25
    SEND = 26
    RECV = 27
    OPENAT2 = 28
    EPOLL_CTL = 29
    SPLICE = 30
    PROVIDE_BUFFERS = 31
    REMOVE_BUFFERS = 32
    TEE = 33
    SHUTDOWN = 34
    RENAMEAT = 35
    UNLINKAT = 36
    MKDIRAT = 37
    SYMLINKAT = 38
    LINKAT = 39
    MSG_RING = 40
    FSETXATTR = 41
    SETXATTR = 42
    FGETXATTR = 43
    GETXATTR = 44
    SOCKET = 45
    URING_CMD = 46
    SEND_ZC = 47
    SENDMSG_ZC = 48
    READ_MULTISHOT = 49
    WAITID = 50
    FUTEX_WAIT = 51
    FUTEX_WAKE = 52
    FUTEX_WAITV = 53
    FIXED_FD_INSTALL = 54
    FTRUNCATE = 55
    BIND = 56
    LISTEN = 57
    RECV_ZC = 58
    EPOLL_WAIT = 59
    READV_FIXED = 60
    WRITEV_FIXED = 61
    PIPE = 62


class SetupFlag(enum.IntFlag):
    """`io_uring_setup(2)` flags (`IORING_SETUP_*`), in `io_uring_params.flags`."""

    IOPOLL = 1 << 0
    SQPOLL = 1 << 1
    SQ_AFF = 1 << 2
    CQSIZE = 1 << 3
    CLAMP = 1 << 4
    ATTACH_WQ = 1 << 5
    R_DISABLED = 1 << 6
    SUBMIT_ALL = 1 << 7
    COOP_TASKRUN = 1 << 8
    TASKRUN_FLAG = 1 << 9
    SQE128 = 1 << 10
    CQE32 = 1 << 11
    SINGLE_ISSUER = 1 << 12
    DEFER_TASKRUN = 1 << 13
    NO_MMAP = 1 << 14
    REGISTERED_FD_ONLY = 1 << 15
    NO_SQARRAY = 1 << 16
    HYBRID_IOPOLL = 1 << 17


class Feature(enum.IntFlag):
    """What the kernel reports in `io_uring_params.features` (`IORING_FEAT_*`)."""

    SINGLE_MMAP = 1 << 0
    NODROP = 1 << 1
    SUBMIT_STABLE = 1 << 2
    RW_CUR_POS = 1 << 3
    CUR_PERSONALITY = 1 << 4
    FAST_POLL = 1 << 5
    POLL_32BITS = 1 << 6
    SQPOLL_NONFIXED = 1 << 7
    EXT_ARG = 1 << 8
    NATIVE_WORKERS = 1 << 9
    RSRC_TAGS = 1 << 10
    CQE_SKIP = 1 << 11
    LINKED_FILE = 1 << 12
    REG_REG_RING = 1 << 13
    RECVSEND_BUNDLE = 1 << 14
    MIN_TIMEOUT = 1 << 15
    RW_ATTR = 1 << 16
    NO_IOWAIT = 1 << 17


class EnterFlag(enum.IntFlag):
    """`io_uring_enter(2)` flags (`IORING_ENTER_*`)."""

    GETEVENTS = 1 << 0
    SQ_WAKEUP = 1 << 1
    SQ_WAIT = 1 << 2
    EXT_ARG = 1 << 3
    REGISTERED_RING = 1 << 4
    ABS_TIMER = 1 << 5
    EXT_ARG_REG = 1 << 6


class SqRingFlag(enum.IntFlag):
    """Flags the kernel sets in the SQ ring's `flags` word (`IORING_SQ_*`)."""

    NEED_WAKEUP = 1 << 0
    CQ_OVERFLOW = 1 << 1
    TASKRUN = 1 << 2


class SqeFlag(enum.IntFlag):
    """Per-SQE flags (`IOSQE_*`), in `sqe->flags`."""

    FIXED_FILE = 1 << 0
    IO_DRAIN = 1 << 1
    IO_LINK = 1 << 2
    IO_HARDLINK = 1 << 3
    ASYNC = 1 << 4
    BUFFER_SELECT = 1 << 5
    CQE_SKIP_SUCCESS = 1 << 6


class CqeFlag(enum.IntFlag):
    """Flags in `cqe->flags` (`IORING_CQE_F_*`). The buffer id sits above `BUFFER_SHIFT`."""

    BUFFER = 1 << 0
    MORE = 1 << 1
    SOCK_NONEMPTY = 1 << 2
    NOTIF = 1 << 3
    BUF_MORE = 1 << 4


CQE_BUFFER_SHIFT = 16


class RegisterOp(enum.IntEnum):
    """`io_uring_register(2)` opcodes (`IORING_REGISTER_*`, `IORING_UNREGISTER_*`)."""

    REGISTER_BUFFERS = 0
    UNREGISTER_BUFFERS = 1
    REGISTER_FILES = 2
    UNREGISTER_FILES = 3
    REGISTER_EVENTFD = 4
    UNREGISTER_EVENTFD = 5
    REGISTER_FILES_UPDATE = 6
    REGISTER_EVENTFD_ASYNC = 7
    REGISTER_PROBE = 8
    REGISTER_PERSONALITY = 9
    UNREGISTER_PERSONALITY = 10
    REGISTER_RESTRICTIONS = 11
    REGISTER_ENABLE_RINGS = 12
    REGISTER_FILES2 = 13
    REGISTER_FILES_UPDATE2 = 14
    REGISTER_BUFFERS2 = 15
    REGISTER_BUFFERS_UPDATE = 16
    REGISTER_IOWQ_AFF = 17
    UNREGISTER_IOWQ_AFF = 18
    REGISTER_IOWQ_MAX_WORKERS = 19
    REGISTER_RING_FDS = 20
    UNREGISTER_RING_FDS = 21
    REGISTER_PBUF_RING = 22
    UNREGISTER_PBUF_RING = 23
    REGISTER_SYNC_CANCEL = 24
    REGISTER_FILE_ALLOC_RANGE = 25
    REGISTER_PBUF_STATUS = 26


class TimeoutFlag(enum.IntFlag):
    """`sqe->timeout_flags` (`IORING_TIMEOUT_*`)."""

    ABS = 1 << 0
    UPDATE = 1 << 1
    BOOTTIME = 1 << 2
    REALTIME = 1 << 3
    LINK_TIMEOUT_UPDATE = 1 << 4
    ETIME_SUCCESS = 1 << 5
    MULTISHOT = 1 << 6


class AsyncCancelFlag(enum.IntFlag):
    """`sqe->cancel_flags` (`IORING_ASYNC_CANCEL_*`)."""

    ALL = 1 << 0
    FD = 1 << 1
    ANY = 1 << 2
    FD_FIXED = 1 << 3
    USERDATA = 1 << 4
    OP = 1 << 5


class PollFlag(enum.IntFlag):
    """POLL_ADD / POLL_REMOVE command flags, kept in `sqe->len` (`IORING_POLL_*`)."""

    ADD_MULTI = 1 << 0
    UPDATE_EVENTS = 1 << 1
    UPDATE_USER_DATA = 1 << 2
    ADD_LEVEL = 1 << 3


class RecvSendFlag(enum.IntFlag):
    """send/recv modifiers kept in `sqe->ioprio` (`IORING_RECVSEND_*`, `IORING_RECV_*`)."""

    POLL_FIRST = 1 << 0
    RECV_MULTISHOT = 1 << 1
    FIXED_BUF = 1 << 2
    SEND_ZC_REPORT_USAGE = 1 << 3
    BUNDLE = 1 << 4


class AcceptFlag(enum.IntFlag):
    """accept modifiers kept in `sqe->ioprio` (`IORING_ACCEPT_*`)."""

    MULTISHOT = 1 << 0
    DONTWAIT = 1 << 1
    POLL_FIRST = 1 << 2


class MsgRingFlag(enum.IntFlag):
    """`sqe->msg_ring_flags` (`IORING_MSG_RING_*`)."""

    CQE_SKIP = 1 << 0
    FLAGS_PASS = 1 << 1


MSG_DATA = 0  # IORING_MSG_DATA: MSG_RING posts a CQE with sqe->len as res, sqe->off as data
MSG_SEND_FD = 1  # IORING_MSG_SEND_FD: MSG_RING installs a fixed file in the target ring

FSYNC_DATASYNC = 1 << 0  # IORING_FSYNC_DATASYNC
FILE_INDEX_ALLOC = 0xFFFFFFFF  # IORING_FILE_INDEX_ALLOC: the kernel picks a free fixed slot
REGISTER_FILES_SKIP = -2  # IORING_REGISTER_FILES_SKIP: leave this slot as it is on update
RSRC_REGISTER_SPARSE = 1 << 0  # IORING_RSRC_REGISTER_SPARSE
OP_SUPPORTED = 1 << 0  # IO_URING_OP_SUPPORTED, in io_uring_probe_op.flags
NOTIF_USAGE_ZC_COPIED = 1 << 31  # IORING_NOTIF_USAGE_ZC_COPIED, in a NOTIF cqe's res
SPLICE_F_FD_IN_FIXED = 1 << 31  # splice_fd_in is a fixed file index

# mmap(2) offsets that select which of the ring's regions to map.
OFF_SQ_RING = 0
OFF_CQ_RING = 0x8000000
OFF_SQES = 0x10000000
OFF_PBUF_RING = 0x80000000
OFF_PBUF_SHIFT = 16

# Provided-buffer ring registration flags (enum io_uring_register_pbuf_ring_flags).
PBUF_RING_MMAP = 1
PBUF_RING_INC = 2


def buffer_id(cqe_flags: int) -> int:
    """Return the provided-buffer id a completion used.

    Args:
        cqe_flags: the CQE's `flags`; only meaningful when `CqeFlag.BUFFER` is set in it.

    Returns:
        The buffer id (`cqe->flags >> IORING_CQE_BUFFER_SHIFT`).
    """
    return cqe_flags >> CQE_BUFFER_SHIFT
