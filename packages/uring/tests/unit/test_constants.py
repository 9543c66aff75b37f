"""`uring._constants`: the values are ABI, checked against include/uapi/linux/io_uring.h.

The expected numbers are copied from the header (Linux 6.15+, liburing 2.9+), not computed,
so a typo in either place shows up as a mismatch.
"""

from __future__ import annotations

import enum

import pytest

import uring

# enum io_uring_op, in header order.
OPCODES = (
    "NOP READV WRITEV FSYNC READ_FIXED WRITE_FIXED POLL_ADD POLL_REMOVE SYNC_FILE_RANGE "
    "SENDMSG RECVMSG TIMEOUT TIMEOUT_REMOVE ACCEPT ASYNC_CANCEL LINK_TIMEOUT CONNECT FALLOCATE "
    "OPENAT CLOSE FILES_UPDATE STATX READ WRITE FADVISE MADVISE SEND RECV OPENAT2 EPOLL_CTL "
    "SPLICE PROVIDE_BUFFERS REMOVE_BUFFERS TEE SHUTDOWN RENAMEAT UNLINKAT MKDIRAT SYMLINKAT "
    "LINKAT MSG_RING FSETXATTR SETXATTR FGETXATTR GETXATTR SOCKET URING_CMD SEND_ZC SENDMSG_ZC "
    "READ_MULTISHOT WAITID FUTEX_WAIT FUTEX_WAKE FUTEX_WAITV FIXED_FD_INSTALL FTRUNCATE BIND "
    "LISTEN RECV_ZC EPOLL_WAIT READV_FIXED WRITEV_FIXED PIPE"
).split()

# Spot checks written as the header writes them.
HEADER_VALUES: list[tuple[enum.Enum | int, int]] = [
    (uring.Op.NOP, 0),
    (uring.Op.READV, 1),
    (uring.Op.POLL_ADD, 6),
    (uring.Op.TIMEOUT, 11),
    (uring.Op.ACCEPT, 13),
    (uring.Op.ASYNC_CANCEL, 14),
    (uring.Op.CLOSE, 19),
    (uring.Op.READ, 22),
    (uring.Op.WRITE, 23),
    (uring.Op.SEND, 26),
    (uring.Op.RECV, 27),
    (uring.Op.PROVIDE_BUFFERS, 31),
    (uring.Op.SHUTDOWN, 34),
    (uring.Op.MSG_RING, 40),
    (uring.Op.SOCKET, 45),
    (uring.Op.SEND_ZC, 47),
    (uring.Op.READ_MULTISHOT, 49),
    (uring.Op.FUTEX_WAIT, 51),
    (uring.Op.FIXED_FD_INSTALL, 54),
    (uring.Op.BIND, 56),
    (uring.Op.LISTEN, 57),
    (uring.Op.PIPE, 62),
    # IORING_SETUP_*
    (uring.SetupFlag.IOPOLL, 1 << 0),
    (uring.SetupFlag.SQPOLL, 1 << 1),
    (uring.SetupFlag.CQSIZE, 1 << 3),
    (uring.SetupFlag.CLAMP, 1 << 4),
    (uring.SetupFlag.SUBMIT_ALL, 1 << 7),
    (uring.SetupFlag.COOP_TASKRUN, 1 << 8),
    (uring.SetupFlag.TASKRUN_FLAG, 1 << 9),
    (uring.SetupFlag.SQE128, 1 << 10),
    (uring.SetupFlag.CQE32, 1 << 11),
    (uring.SetupFlag.SINGLE_ISSUER, 1 << 12),
    (uring.SetupFlag.DEFER_TASKRUN, 1 << 13),
    (uring.SetupFlag.NO_MMAP, 1 << 14),
    (uring.SetupFlag.REGISTERED_FD_ONLY, 1 << 15),
    (uring.SetupFlag.NO_SQARRAY, 1 << 16),
    (uring.SetupFlag.HYBRID_IOPOLL, 1 << 17),
    # IORING_FEAT_*
    (uring.Feature.SINGLE_MMAP, 1 << 0),
    (uring.Feature.NODROP, 1 << 1),
    (uring.Feature.SUBMIT_STABLE, 1 << 2),
    (uring.Feature.FAST_POLL, 1 << 5),
    (uring.Feature.EXT_ARG, 1 << 8),
    (uring.Feature.NATIVE_WORKERS, 1 << 9),
    (uring.Feature.CQE_SKIP, 1 << 11),
    (uring.Feature.LINKED_FILE, 1 << 12),
    (uring.Feature.REG_REG_RING, 1 << 13),
    (uring.Feature.RECVSEND_BUNDLE, 1 << 14),
    (uring.Feature.MIN_TIMEOUT, 1 << 15),
    (uring.Feature.RW_ATTR, 1 << 16),
    (uring.Feature.NO_IOWAIT, 1 << 17),
    # IORING_ENTER_*
    (uring.EnterFlag.GETEVENTS, 1 << 0),
    (uring.EnterFlag.SQ_WAKEUP, 1 << 1),
    (uring.EnterFlag.SQ_WAIT, 1 << 2),
    (uring.EnterFlag.EXT_ARG, 1 << 3),
    (uring.EnterFlag.REGISTERED_RING, 1 << 4),
    (uring.EnterFlag.ABS_TIMER, 1 << 5),
    (uring.EnterFlag.EXT_ARG_REG, 1 << 6),
    # IORING_SQ_*
    (uring.SqRingFlag.NEED_WAKEUP, 1 << 0),
    (uring.SqRingFlag.CQ_OVERFLOW, 1 << 1),
    (uring.SqRingFlag.TASKRUN, 1 << 2),
    # IOSQE_*
    (uring.SqeFlag.FIXED_FILE, 1 << 0),
    (uring.SqeFlag.IO_DRAIN, 1 << 1),
    (uring.SqeFlag.IO_LINK, 1 << 2),
    (uring.SqeFlag.IO_HARDLINK, 1 << 3),
    (uring.SqeFlag.ASYNC, 1 << 4),
    (uring.SqeFlag.BUFFER_SELECT, 1 << 5),
    (uring.SqeFlag.CQE_SKIP_SUCCESS, 1 << 6),
    # IORING_CQE_F_*
    (uring.CqeFlag.BUFFER, 1 << 0),
    (uring.CqeFlag.MORE, 1 << 1),
    (uring.CqeFlag.SOCK_NONEMPTY, 1 << 2),
    (uring.CqeFlag.NOTIF, 1 << 3),
    (uring.CqeFlag.BUF_MORE, 1 << 4),
    (uring.CQE_BUFFER_SHIFT, 16),
    # IORING_REGISTER_*
    (uring.RegisterOp.REGISTER_BUFFERS, 0),
    (uring.RegisterOp.UNREGISTER_BUFFERS, 1),
    (uring.RegisterOp.REGISTER_FILES, 2),
    (uring.RegisterOp.UNREGISTER_FILES, 3),
    (uring.RegisterOp.REGISTER_EVENTFD, 4),
    (uring.RegisterOp.REGISTER_FILES_UPDATE, 6),
    (uring.RegisterOp.REGISTER_PROBE, 8),
    (uring.RegisterOp.REGISTER_ENABLE_RINGS, 12),
    (uring.RegisterOp.REGISTER_FILES2, 13),
    (uring.RegisterOp.REGISTER_BUFFERS2, 15),
    (uring.RegisterOp.REGISTER_IOWQ_MAX_WORKERS, 19),
    (uring.RegisterOp.REGISTER_RING_FDS, 20),
    (uring.RegisterOp.UNREGISTER_RING_FDS, 21),
    (uring.RegisterOp.REGISTER_PBUF_RING, 22),
    (uring.RegisterOp.UNREGISTER_PBUF_RING, 23),
    (uring.RegisterOp.REGISTER_SYNC_CANCEL, 24),
    (uring.RegisterOp.REGISTER_FILE_ALLOC_RANGE, 25),
    (uring.RegisterOp.REGISTER_PBUF_STATUS, 26),
    # IORING_TIMEOUT_*, IORING_ASYNC_CANCEL_*, IORING_POLL_*
    (uring.TimeoutFlag.ABS, 1 << 0),
    (uring.TimeoutFlag.UPDATE, 1 << 1),
    (uring.TimeoutFlag.BOOTTIME, 1 << 2),
    (uring.TimeoutFlag.REALTIME, 1 << 3),
    (uring.TimeoutFlag.LINK_TIMEOUT_UPDATE, 1 << 4),
    (uring.TimeoutFlag.ETIME_SUCCESS, 1 << 5),
    (uring.TimeoutFlag.MULTISHOT, 1 << 6),
    (uring.AsyncCancelFlag.ALL, 1 << 0),
    (uring.AsyncCancelFlag.FD, 1 << 1),
    (uring.AsyncCancelFlag.ANY, 1 << 2),
    (uring.AsyncCancelFlag.FD_FIXED, 1 << 3),
    (uring.AsyncCancelFlag.USERDATA, 1 << 4),
    (uring.AsyncCancelFlag.OP, 1 << 5),
    (uring.PollFlag.ADD_MULTI, 1 << 0),
    (uring.PollFlag.UPDATE_EVENTS, 1 << 1),
    (uring.PollFlag.UPDATE_USER_DATA, 1 << 2),
    (uring.PollFlag.ADD_LEVEL, 1 << 3),
    # sqe->ioprio modifiers
    (uring.RecvSendFlag.POLL_FIRST, 1 << 0),
    (uring.RecvSendFlag.RECV_MULTISHOT, 1 << 1),
    (uring.RecvSendFlag.FIXED_BUF, 1 << 2),
    (uring.RecvSendFlag.SEND_ZC_REPORT_USAGE, 1 << 3),
    (uring.RecvSendFlag.BUNDLE, 1 << 4),
    (uring.AcceptFlag.MULTISHOT, 1 << 0),
    (uring.AcceptFlag.DONTWAIT, 1 << 1),
    (uring.AcceptFlag.POLL_FIRST, 1 << 2),
    # MSG_RING
    (uring.MSG_DATA, 0),
    (uring.MSG_SEND_FD, 1),
    (uring.MsgRingFlag.CQE_SKIP, 1 << 0),
    (uring.MsgRingFlag.FLAGS_PASS, 1 << 1),
    # the rest
    (uring.FSYNC_DATASYNC, 1),
    (uring.FILE_INDEX_ALLOC, 0xFFFFFFFF),  # ~0U
    (uring.REGISTER_FILES_SKIP, -2),
    (uring.NOTIF_USAGE_ZC_COPIED, 1 << 31),
    (uring.SPLICE_F_FD_IN_FIXED, 1 << 31),
    (uring.PBUF_RING_MMAP, 1),  # IOU_PBUF_RING_MMAP
    (uring.PBUF_RING_INC, 2),  # IOU_PBUF_RING_INC
]


def test_opcodes_are_the_header_enum_in_order() -> None:
    assert [(op.name, op.value) for op in uring.Op] == [
        (name, number) for number, name in enumerate(OPCODES)
    ]


@pytest.mark.parametrize(("constant", "value"), HEADER_VALUES, ids=repr)
def test_constant_has_the_header_value(constant: enum.Enum | int, value: int) -> None:
    assert constant == value


@pytest.mark.parametrize(
    "flag_enum",
    [
        uring.SetupFlag,
        uring.Feature,
        uring.EnterFlag,
        uring.SqRingFlag,
        uring.SqeFlag,
        uring.CqeFlag,
        uring.TimeoutFlag,
        uring.AsyncCancelFlag,
        uring.PollFlag,
        uring.RecvSendFlag,
        uring.AcceptFlag,
        uring.MsgRingFlag,
    ],
)
def test_flag_enums_are_distinct_single_bits(flag_enum: type[enum.IntFlag]) -> None:
    values = [member.value for member in flag_enum.__members__.values()]
    assert all(v > 0 and v & (v - 1) == 0 for v in values)
    assert len(set(values)) == len(values)


def test_register_opcodes_have_no_aliases() -> None:
    assert len(uring.RegisterOp.__members__) == len(uring.RegisterOp)


def test_sqe_flags_fit_the_u8_field() -> None:
    assert max(uring.SqeFlag) < 1 << 8


@pytest.mark.parametrize(
    ("flags", "bid"),
    [
        (0, 0),
        (uring.CqeFlag.BUFFER, 0),
        ((7 << 16) | uring.CqeFlag.BUFFER | uring.CqeFlag.MORE, 7),
        ((0xFFFF << 16) | 0xFFFF, 0xFFFF),
        (0x1234_0001, 0x1234),
    ],
)
def test_buffer_id_is_the_upper_16_bits_of_the_cqe_flags(flags: int, bid: int) -> None:
    assert uring.buffer_id(flags) == bid
