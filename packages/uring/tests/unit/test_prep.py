"""`uring._prep`: one worked example per `prep_*`, checked field by field against liburing.

Each row of `CASES` is a call with concrete arguments and the SQE liburing's
`io_uring_prep_*` (src/include/liburing.h) would leave behind for it, in liburing's field
names. The SQE starts full of 0xA5 so "every other byte is zero" is tested, not assumed.
tests/property/test_prep_layout.py draws the arguments instead.
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any

import pytest

import uring

# --- the kernel's struct io_uring_sqe (include/uapi/linux/io_uring.h) -----------------------
# Written out here, not taken from uring.SQE_FIELDS, which is what is under test. The same
# table is in tests/property/test_prep_layout.py: test modules do not import each other.

FIELDS: dict[str, tuple[int, str]] = {
    "opcode": (0, "B"),
    "flags": (1, "B"),
    "ioprio": (2, "H"),
    "fd": (4, "i"),
    "off": (8, "Q"),  # union: addr2
    "addr": (16, "Q"),  # union: splice_off_in
    "len": (24, "I"),
    "op_flags": (28, "I"),  # union: rw_flags, msg_flags, timeout_flags, ...
    "user_data": (32, "Q"),
    "buf_index": (40, "H"),  # union: buf_group
    "personality": (42, "H"),
    "file_index": (44, "I"),  # union: splice_fd_in (s32), optlen
    "addr3": (48, "Q"),
    "pad2": (56, "Q"),
}
OP_FLAGS = (
    "rw_flags fsync_flags poll32_events msg_flags timeout_flags accept_flags cancel_flags "
    "open_flags statx_flags splice_flags rename_flags unlink_flags msg_ring_flags "
    "waitid_flags futex_flags install_fd_flags"
).split()
ALIASES = {
    "addr2": "off",
    "splice_off_in": "addr",
    "splice_fd_in": "file_index",
    "buf_group": "buf_index",
    **dict.fromkeys(OP_FLAGS, "op_flags"),
}

OP = {
    name: number
    for number, name in enumerate(
        "NOP READV WRITEV FSYNC READ_FIXED WRITE_FIXED POLL_ADD POLL_REMOVE SYNC_FILE_RANGE "
        "SENDMSG RECVMSG TIMEOUT TIMEOUT_REMOVE ACCEPT ASYNC_CANCEL LINK_TIMEOUT CONNECT "
        "FALLOCATE OPENAT CLOSE FILES_UPDATE STATX READ WRITE FADVISE MADVISE SEND RECV "
        "OPENAT2 EPOLL_CTL SPLICE PROVIDE_BUFFERS REMOVE_BUFFERS TEE SHUTDOWN RENAMEAT "
        "UNLINKAT MKDIRAT SYMLINKAT LINKAT MSG_RING FSETXATTR SETXATTR FGETXATTR GETXATTR "
        "SOCKET URING_CMD SEND_ZC SENDMSG_ZC READ_MULTISHOT WAITID FUTEX_WAIT FUTEX_WAKE "
        "FUTEX_WAITV FIXED_FD_INSTALL FTRUNCATE BIND LISTEN".split()
    )
}
ALL_ONES_64 = 0xFFFF_FFFF_FFFF_FFFF
FILE_INDEX_ALLOC = 0xFFFF_FFFF  # IORING_FILE_INDEX_ALLOC
AT_FDCWD = -100


def decode(sqe: Any) -> dict[str, int]:
    """Return every field of a 64-byte SQE (the fields cover each byte once)."""
    assert len(sqe) == 64
    return {n: struct.unpack_from("<" + c, sqe, o)[0] for n, (o, c) in FIELDS.items()}


def want(**fields: int) -> dict[str, int]:
    """The decoded SQE with `fields` (liburing names) set, converted as C assigns them."""
    out = dict.fromkeys(FIELDS, 0)
    for name, value in fields.items():
        field = ALIASES.get(name, name)
        assert out[field] == 0, f"{name} sets {field} twice"
        code = FIELDS[field][1]
        bits = 8 * struct.calcsize(code)
        value &= (1 << bits) - 1
        if code.islower() and value >= 1 << (bits - 1):
            value -= 1 << bits
        out[field] = value
    return out


def garbage_sqe() -> bytearray:
    return bytearray(b"\xa5" * 64)


# --- one row per prep function (and per default left out) ----------------------------------

B = 0x7F00_0000_1000  # a buffer address
P = 0x7F00_0000_2000  # a second pointer (path, addrlen, msghdr, ...)
TS = 0x7F00_0000_3000  # a __kernel_timespec address

# (function, positional arguments after the sqe, keyword arguments, liburing's SQE)
CASES: list[tuple[str, tuple[Any, ...], dict[str, Any], dict[str, int]]] = [
    ("prep_nop", (), {}, want(opcode=OP["NOP"], fd=-1)),
    (
        "prep_read",
        (7, B, 4096, 8192),
        {},
        want(opcode=OP["READ"], fd=7, addr=B, len=4096, off=8192),
    ),
    (
        "prep_read",  # offset -1: the file position, (__u64) -1 in the SQE
        (7, B, 4096, -1),
        {},
        want(opcode=OP["READ"], fd=7, addr=B, len=4096, off=ALL_ONES_64),
    ),
    (
        "prep_write",
        (7, B, 10, -1),
        {},
        want(opcode=OP["WRITE"], fd=7, addr=B, len=10, off=ALL_ONES_64),
    ),
    (
        "prep_readv",
        (7, P, 3, 100, 0x10),
        {},
        want(opcode=OP["READV"], fd=7, addr=P, len=3, off=100, rw_flags=0x10),
    ),
    ("prep_readv", (7, P, 3, 100), {}, want(opcode=OP["READV"], fd=7, addr=P, len=3, off=100)),
    (
        "prep_writev",
        (7, P, 2, -1, 0x4),
        {},
        want(opcode=OP["WRITEV"], fd=7, addr=P, len=2, off=ALL_ONES_64, rw_flags=0x4),
    ),
    (
        "prep_read_fixed",
        (7, B, 512, 0, 3),
        {},
        want(opcode=OP["READ_FIXED"], fd=7, addr=B, len=512, buf_index=3),
    ),
    (
        "prep_write_fixed",
        (7, B, 512, 4096, 65535),
        {},
        want(opcode=OP["WRITE_FIXED"], fd=7, addr=B, len=512, off=4096, buf_index=65535),
    ),
    (
        "prep_read_multishot",
        (7, 0, -1, 9),
        {},
        want(opcode=OP["READ_MULTISHOT"], flags=0x20, fd=7, off=ALL_ONES_64, buf_group=9),
    ),
    ("prep_fsync", (7,), {}, want(opcode=OP["FSYNC"], fd=7)),
    ("prep_fsync", (7, 1), {}, want(opcode=OP["FSYNC"], fd=7, fsync_flags=1)),
    (
        "prep_fallocate",
        (7, 1, 4096, 1 << 40),
        {},
        want(opcode=OP["FALLOCATE"], fd=7, len=1, off=4096, addr=1 << 40),
    ),
    ("prep_ftruncate", (7, 12345), {}, want(opcode=OP["FTRUNCATE"], fd=7, off=12345)),
    (
        "prep_splice",
        (3, -1, 4, 1000, 65536, 0x80000001),
        {},
        want(
            opcode=OP["SPLICE"],
            fd=4,
            off=1000,
            splice_off_in=ALL_ONES_64,
            len=65536,
            splice_flags=0x80000001,
            splice_fd_in=3,
        ),
    ),
    (
        "prep_splice",  # splice_fd_in is signed: -1 is 0xFFFFFFFF at byte 44
        (-1, 0, 4, -1, 1, 0),
        {},
        want(opcode=OP["SPLICE"], fd=4, off=ALL_ONES_64, len=1, splice_fd_in=-1),
    ),
    (
        "prep_tee",
        (3, 4, 100, 2),
        {},
        want(opcode=OP["TEE"], fd=4, len=100, splice_flags=2, splice_fd_in=3),
    ),
    (
        "prep_openat",
        (AT_FDCWD, P, 0o2000000 | 0o100, 0o644),
        {},
        want(opcode=OP["OPENAT"], fd=AT_FDCWD, addr=P, len=0o644, open_flags=0o2000100),
    ),
    (
        "prep_openat_direct",
        (AT_FDCWD, P, 0, 0, 5),
        {},
        want(opcode=OP["OPENAT"], fd=AT_FDCWD, addr=P, file_index=6),
    ),
    (
        "prep_openat_direct",
        (AT_FDCWD, P, 0, 0, FILE_INDEX_ALLOC),
        {},
        want(opcode=OP["OPENAT"], fd=AT_FDCWD, addr=P, file_index=FILE_INDEX_ALLOC),
    ),
    (
        "prep_statx",
        (AT_FDCWD, P, 0x100, 0x7FF, B),
        {},
        want(opcode=OP["STATX"], fd=AT_FDCWD, addr=P, len=0x7FF, off=B, statx_flags=0x100),
    ),
    (
        "prep_unlinkat",
        (AT_FDCWD, P, 0x200),
        {},
        want(opcode=OP["UNLINKAT"], fd=AT_FDCWD, addr=P, unlink_flags=0x200),
    ),
    (
        "prep_mkdirat",
        (AT_FDCWD, P, 0o755),
        {},
        want(opcode=OP["MKDIRAT"], fd=AT_FDCWD, addr=P, len=0o755),
    ),
    (
        "prep_renameat",
        (3, P, 4, B, 1),
        {},
        want(opcode=OP["RENAMEAT"], fd=3, addr=P, len=4, off=B, rename_flags=1),
    ),
    ("prep_close", (7,), {}, want(opcode=OP["CLOSE"], fd=7)),
    ("prep_close_direct", (0,), {}, want(opcode=OP["CLOSE"], fd=0, file_index=1)),
    (
        "prep_files_update",
        (B, 4, 10),
        {},
        want(opcode=OP["FILES_UPDATE"], fd=-1, addr=B, len=4, off=10),
    ),
    (
        "prep_fixed_fd_install",
        (2,),
        {},
        want(opcode=OP["FIXED_FD_INSTALL"], flags=1, fd=2),
    ),
    (
        "prep_fixed_fd_install",
        (2, 1),
        {},
        want(opcode=OP["FIXED_FD_INSTALL"], flags=1, fd=2, install_fd_flags=1),
    ),
    ("prep_socket", (2, 1, 6), {}, want(opcode=OP["SOCKET"], fd=2, off=1, len=6)),
    (
        "prep_socket",
        (10, 0x80801, 0, 0),
        {},
        want(opcode=OP["SOCKET"], fd=10, off=0x80801),
    ),
    (
        "prep_socket_direct",
        (2, 1, 0, 4),
        {},
        want(opcode=OP["SOCKET"], fd=2, off=1, file_index=5),
    ),
    (
        "prep_socket_direct",
        (2, 1, 0, FILE_INDEX_ALLOC, 0),
        {},
        want(opcode=OP["SOCKET"], fd=2, off=1, file_index=FILE_INDEX_ALLOC),
    ),
    ("prep_connect", (7, P, 16), {}, want(opcode=OP["CONNECT"], fd=7, addr=P, off=16)),
    ("prep_bind", (7, P, 28), {}, want(opcode=OP["BIND"], fd=7, addr=P, off=28)),
    ("prep_listen", (7, 128), {}, want(opcode=OP["LISTEN"], fd=7, len=128)),
    ("prep_accept", (7, None, None), {}, want(opcode=OP["ACCEPT"], fd=7)),
    (
        "prep_accept",  # the addrlen pointer travels in off
        (7, B, P, 0x80000),
        {},
        want(opcode=OP["ACCEPT"], fd=7, addr=B, off=P, accept_flags=0x80000),
    ),
    (
        "prep_accept_direct",
        (7, None, None, 0, 9),
        {},
        want(opcode=OP["ACCEPT"], fd=7, file_index=10),
    ),
    (
        "prep_accept_direct",
        (7, B, P, 0, FILE_INDEX_ALLOC),
        {},
        want(opcode=OP["ACCEPT"], fd=7, addr=B, off=P, file_index=FILE_INDEX_ALLOC),
    ),
    (
        "prep_accept_multishot",
        (7, None, None),
        {},
        want(opcode=OP["ACCEPT"], ioprio=1, fd=7),
    ),
    (
        "prep_accept_multishot",
        (7, B, P, 0x800),
        {},
        want(opcode=OP["ACCEPT"], ioprio=1, fd=7, addr=B, off=P, accept_flags=0x800),
    ),
    (
        "prep_accept_direct_multishot",
        (7, None, None),
        {},
        want(opcode=OP["ACCEPT"], ioprio=1, fd=7, file_index=FILE_INDEX_ALLOC),
    ),
    ("prep_shutdown", (7, 1), {}, want(opcode=OP["SHUTDOWN"], fd=7, len=1)),
    ("prep_recv", (7, B, 100), {}, want(opcode=OP["RECV"], fd=7, addr=B, len=100)),
    (
        "prep_recv",
        (7, B, 100, 0x40),
        {},
        want(opcode=OP["RECV"], fd=7, addr=B, len=100, msg_flags=0x40),
    ),
    (
        "prep_recv_multishot",
        (7, None, 0),
        {},
        want(opcode=OP["RECV"], ioprio=2, fd=7),
    ),
    (
        "prep_recv_multishot",
        (7, B, 100, 0x40),
        {},
        want(opcode=OP["RECV"], ioprio=2, fd=7, addr=B, len=100, msg_flags=0x40),
    ),
    ("prep_send", (7, B, 5), {}, want(opcode=OP["SEND"], fd=7, addr=B, len=5)),
    (
        "prep_send",
        (7, B, 5, 0x4000),
        {},
        want(opcode=OP["SEND"], fd=7, addr=B, len=5, msg_flags=0x4000),
    ),
    ("prep_send_zc", (7, B, 5), {}, want(opcode=OP["SEND_ZC"], fd=7, addr=B, len=5)),
    (
        "prep_send_zc",
        (7, B, 5, 0x4000, 8),
        {},
        want(opcode=OP["SEND_ZC"], ioprio=8, fd=7, addr=B, len=5, msg_flags=0x4000),
    ),
    (
        "prep_send_fixed_zc",
        (7, B, 5, 0, 8, 2),
        {},
        want(opcode=OP["SEND_ZC"], ioprio=8 | 4, fd=7, addr=B, len=5, buf_index=2),
    ),
    ("prep_recvmsg", (7, P), {}, want(opcode=OP["RECVMSG"], fd=7, addr=P, len=1)),
    (
        "prep_recvmsg",
        (7, P, 0x40),
        {},
        want(opcode=OP["RECVMSG"], fd=7, addr=P, len=1, msg_flags=0x40),
    ),
    (
        "prep_recvmsg_multishot",
        (7, P),
        {},
        want(opcode=OP["RECVMSG"], ioprio=2, fd=7, addr=P, len=1),
    ),
    ("prep_sendmsg", (7, P), {}, want(opcode=OP["SENDMSG"], fd=7, addr=P, len=1)),
    (
        "prep_sendmsg",
        (7, P, 0x4000),
        {},
        want(opcode=OP["SENDMSG"], fd=7, addr=P, len=1, msg_flags=0x4000),
    ),
    ("prep_sendmsg_zc", (7, P), {}, want(opcode=OP["SENDMSG_ZC"], fd=7, addr=P, len=1)),
    (
        "prep_poll_add",
        (7, 0x1 | 0x4),
        {},
        want(opcode=OP["POLL_ADD"], fd=7, poll32_events=0x5),
    ),
    (
        "prep_poll_multishot",
        (7, 0x1),
        {},
        want(opcode=OP["POLL_ADD"], fd=7, len=1, poll32_events=0x1),
    ),
    (
        "prep_poll_remove",
        (ALL_ONES_64,),
        {},
        want(opcode=OP["POLL_REMOVE"], fd=-1, addr=ALL_ONES_64),
    ),
    (
        "prep_poll_update",
        (11, 22, 0x4, 0x2 | 0x4),
        {},
        want(opcode=OP["POLL_REMOVE"], fd=-1, addr=11, off=22, len=0x6, poll32_events=0x4),
    ),
    (
        "prep_timeout",
        (TS, 0),
        {},
        want(opcode=OP["TIMEOUT"], fd=-1, addr=TS, len=1),
    ),
    (
        "prep_timeout",
        (TS, 3, 0x1),
        {},
        want(opcode=OP["TIMEOUT"], fd=-1, addr=TS, len=1, off=3, timeout_flags=0x1),
    ),
    (
        "prep_timeout_remove",
        (42,),
        {},
        want(opcode=OP["TIMEOUT_REMOVE"], fd=-1, addr=42),
    ),
    (
        "prep_timeout_remove",
        (42, 0x4),
        {},
        want(opcode=OP["TIMEOUT_REMOVE"], fd=-1, addr=42, timeout_flags=0x4),
    ),
    (
        "prep_timeout_update",  # IORING_TIMEOUT_UPDATE is added to the caller's flags
        (TS, 42),
        {},
        want(opcode=OP["TIMEOUT_REMOVE"], fd=-1, off=TS, addr=42, timeout_flags=0x2),
    ),
    (
        "prep_timeout_update",
        (TS, 42, 0x1),
        {},
        want(opcode=OP["TIMEOUT_REMOVE"], fd=-1, off=TS, addr=42, timeout_flags=0x3),
    ),
    (
        "prep_link_timeout",
        (TS,),
        {},
        want(opcode=OP["LINK_TIMEOUT"], fd=-1, addr=TS, len=1),
    ),
    (
        "prep_link_timeout",
        (TS, 0x20),
        {},
        want(opcode=OP["LINK_TIMEOUT"], fd=-1, addr=TS, len=1, timeout_flags=0x20),
    ),
    ("prep_cancel64", (42,), {}, want(opcode=OP["ASYNC_CANCEL"], fd=-1, addr=42)),
    (
        "prep_cancel64",
        (42, 0x1),
        {},
        want(opcode=OP["ASYNC_CANCEL"], fd=-1, addr=42, cancel_flags=0x1),
    ),
    (
        "prep_cancel_fd",  # IORING_ASYNC_CANCEL_FD is added to the caller's flags
        (7,),
        {},
        want(opcode=OP["ASYNC_CANCEL"], fd=7, cancel_flags=0x2),
    ),
    (
        "prep_cancel_fd",
        (7, 0x1 | 0x8),
        {},
        want(opcode=OP["ASYNC_CANCEL"], fd=7, cancel_flags=0xB),
    ),
    (
        "prep_provide_buffers",
        (B, 4096, 16, 1, 100),
        {},
        want(opcode=OP["PROVIDE_BUFFERS"], fd=16, addr=B, len=4096, off=100, buf_group=1),
    ),
    (
        "prep_remove_buffers",
        (16, 1),
        {},
        want(opcode=OP["REMOVE_BUFFERS"], fd=16, buf_group=1),
    ),
    (
        "prep_msg_ring",
        (9, 123, 456),
        {},
        want(opcode=OP["MSG_RING"], fd=9, len=123, off=456),
    ),
    (
        "prep_msg_ring",
        (9, 123, 456, 1),
        {},
        want(opcode=OP["MSG_RING"], fd=9, len=123, off=456, msg_ring_flags=1),
    ),
    (
        "prep_msg_ring_cqe_flags",  # IORING_MSG_RING_FLAGS_PASS, cqe flags in file_index
        (9, 123, 456, 0, 0x2),
        {},
        want(opcode=OP["MSG_RING"], fd=9, len=123, off=456, msg_ring_flags=2, file_index=2),
    ),
    (
        "prep_msg_ring_fd",  # addr = IORING_MSG_SEND_FD, source in addr3
        (9, 3, 5, 456),
        {},
        want(opcode=OP["MSG_RING"], fd=9, addr=1, off=456, addr3=3, file_index=6),
    ),
    (
        "prep_msg_ring_fd",
        (9, 3, FILE_INDEX_ALLOC, 456, 1),
        {},
        want(
            opcode=OP["MSG_RING"],
            fd=9,
            addr=1,
            off=456,
            addr3=3,
            file_index=FILE_INDEX_ALLOC,
            msg_ring_flags=1,
        ),
    ),
    (
        "prep_futex_wait",  # futex2 flags in fd, the op's flags in futex_flags @28
        (B, 1, ALL_ONES_64, 0x82),
        {},
        want(opcode=OP["FUTEX_WAIT"], fd=0x82, addr=B, off=1, addr3=ALL_ONES_64),
    ),
    (
        "prep_futex_wait",
        (B, 1, 0xFF, 0x82, 0),
        {},
        want(opcode=OP["FUTEX_WAIT"], fd=0x82, addr=B, off=1, addr3=0xFF),
    ),
    (
        "prep_futex_wake",
        (B, 10, ALL_ONES_64, 0x82, 0),
        {},
        want(opcode=OP["FUTEX_WAKE"], fd=0x82, addr=B, off=10, addr3=ALL_ONES_64),
    ),
    (
        "prep_waitid",  # P_PID=1, WEXITED=4
        (1, 1234, B, 4),
        {},
        want(opcode=OP["WAITID"], fd=1234, len=1, addr2=B, file_index=4),
    ),
    (
        "prep_waitid",
        (0, 0, None, 4, 0),
        {},
        want(opcode=OP["WAITID"], fd=0, file_index=4),
    ),
]


def case_id(case: tuple[str, tuple[Any, ...], dict[str, Any], dict[str, int]]) -> str:
    name, args, kwargs, _ = case
    return f"{name}{args}{kwargs or ''}"


def test_the_kernel_table_covers_every_byte_once() -> None:
    owner: list[str] = []
    for name, (offset, code) in sorted(FIELDS.items(), key=lambda item: item[1][0]):
        assert offset == len(owner), f"{name} at {offset} leaves a gap or overlaps"
        owner += [name] * struct.calcsize(code)
    assert len(owner) == 64


def test_sqe_fields_match_the_kernel_struct() -> None:
    assert uring.SQE_SIZE == 64
    expected = {**FIELDS, "splice_fd_in": (44, "i")}
    assert {name: (offset, code) for name, (offset, code) in uring.SQE_FIELDS.items()} == (expected)


def test_every_exported_prep_has_a_case() -> None:
    exported = {name for name in uring.__all__ if name.startswith("prep_")}
    assert exported == {name for name, *_ in CASES}


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_prep_writes_liburings_sqe(
    case: tuple[str, tuple[Any, ...], dict[str, Any], dict[str, int]],
) -> None:
    name, args, kwargs, expected = case
    sqe = garbage_sqe()
    getattr(uring, name)(sqe, *args, **kwargs)
    assert decode(sqe) == expected


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_prep_writes_only_its_slot_of_an_sqe_array(
    case: tuple[str, tuple[Any, ...], dict[str, Any], dict[str, int]],
) -> None:
    # Ring.get_sqe hands out a 64-byte memoryview into the shared SQE array.
    name, args, kwargs, expected = case
    array = bytearray(range(192))
    with memoryview(array) as view:
        getattr(uring, name)(view[64:128], *args, **kwargs)
    assert array[:64] == bytes(range(64))
    assert array[128:] == bytes(range(128, 192))
    assert decode(array[64:128]) == expected


def test_prep_resets_user_data_left_by_an_earlier_op() -> None:
    sqe = bytearray(64)
    uring.sqe_set_data64(sqe, 99)
    uring.prep_nop(sqe)
    assert decode(sqe)["user_data"] == 0


# --- buffers given as objects ------------------------------------------------------------


def test_buffer_arguments_become_their_address() -> None:
    data = b"payload"
    sink = bytearray(16)
    sqe = garbage_sqe()
    uring.prep_send(sqe, 3, data, len(data))
    assert decode(sqe)["addr"] == ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value
    uring.prep_recv(sqe, 3, sink, len(sink))
    assert decode(sqe)["addr"] == ctypes.addressof(ctypes.c_char.from_buffer(sink))
    with memoryview(sink) as view:
        uring.prep_recv(sqe, 3, view[4:], 12)
    assert decode(sqe)["addr"] == ctypes.addressof(ctypes.c_char.from_buffer(sink)) + 4


def test_path_arguments_point_at_a_nul_terminated_copy_of_the_bytes() -> None:
    old, new = b"/tmp/old name", b"/tmp/new"
    sqe = garbage_sqe()
    uring.prep_renameat(sqe, 3, old, 4, new, 0)
    fields = decode(sqe)
    assert ctypes.string_at(fields["addr"]) == old
    assert ctypes.string_at(fields["off"]) == new


def test_timespec_arguments_become_their_address() -> None:
    ts = uring.KernelTimespec(1, 500)
    sqe = garbage_sqe()
    uring.prep_timeout(sqe, ts, 0)
    assert decode(sqe)["addr"] == ctypes.addressof(ts)
    uring.prep_timeout_update(sqe, ts, 7)
    assert decode(sqe)["off"] == ctypes.addressof(ts)


def test_iovec_arguments_become_the_array_address() -> None:
    iovecs = uring.IovecArray([bytearray(4), bytearray(8)], writable=True)
    sqe = garbage_sqe()
    uring.prep_readv(sqe, 3, iovecs, iovecs.count, 0)
    assert decode(sqe)["addr"] == iovecs.address
    assert decode(sqe)["len"] == 2


@pytest.mark.parametrize(
    ("prep", "args"),
    [
        (uring.prep_read, (3, b"read-only", 9, 0)),
        (uring.prep_recv, (3, b"read-only", 9)),
        (uring.prep_recvmsg, (3, b"msghdr")),
        (uring.prep_accept, (3, b"sockaddr", None)),
        (uring.prep_statx, (3, b"path", 0, 0, b"statx buffer")),
        (uring.prep_provide_buffers, (b"buffers", 7, 1, 0, 0)),
    ],
)
def test_buffers_the_kernel_writes_must_be_writable(prep: Any, args: tuple[Any, ...]) -> None:
    with pytest.raises(BufferError):
        prep(garbage_sqe(), *args)


def test_non_buffers_are_a_type_error() -> None:
    with pytest.raises(TypeError):
        uring.prep_send(garbage_sqe(), 3, "text", 4)


@pytest.mark.parametrize("path", ["/tmp/x", bytearray(b"/tmp/x"), memoryview(b"/tmp/x")])
def test_paths_must_be_bytes(path: Any) -> None:
    with pytest.raises(TypeError, match="path must be bytes"):
        uring.prep_openat(garbage_sqe(), AT_FDCWD, path, 0, 0)


def test_paths_must_not_contain_nul() -> None:
    with pytest.raises(ValueError, match="NUL"):
        uring.prep_unlinkat(garbage_sqe(), AT_FDCWD, b"/tmp/a\0b", 0)


def test_renameat_accepts_at_fdcwd_as_new_dfd() -> None:
    sqe = garbage_sqe()
    uring.prep_renameat(sqe, AT_FDCWD, P, AT_FDCWD, B, 0)
    assert decode(sqe) == want(
        opcode=OP["RENAMEAT"], fd=AT_FDCWD, addr=P, len=AT_FDCWD & 0xFFFF_FFFF, off=B
    )


# --- setters after a prep ------------------------------------------------------------------


def test_setters_write_only_their_own_bytes() -> None:
    sqe = garbage_sqe()
    uring.sqe_set_data64(sqe, 0x0102030405060708)
    assert sqe == b"\xa5" * 32 + bytes.fromhex("0807060504030201") + b"\xa5" * 24
    sqe = garbage_sqe()
    uring.sqe_set_flags(sqe, 0x24)
    assert sqe == b"\xa5" + b"\x24" + b"\xa5" * 62
    sqe = garbage_sqe()
    uring.sqe_set_buf_group(sqe, 0x1234)
    assert sqe == b"\xa5" * 40 + b"\x34\x12" + b"\xa5" * 22


def test_multishot_recv_with_provided_buffers_matches_liburing() -> None:
    # io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0); sqe->flags |= IOSQE_BUFFER_SELECT;
    # sqe->buf_group = 5; io_uring_sqe_set_data64(sqe, 42)
    sqe = garbage_sqe()
    uring.prep_recv_multishot(sqe, 7, None, 0)
    uring.sqe_set_flags(sqe, uring.SqeFlag.BUFFER_SELECT)
    uring.sqe_set_buf_group(sqe, 5)
    uring.sqe_set_data64(sqe, 42)
    assert decode(sqe) == want(
        opcode=OP["RECV"], flags=0x20, ioprio=2, fd=7, user_data=42, buf_group=5
    )


# --- sqe_layout --------------------------------------------------------------------------


def test_sqe_layout_of_no_fields_zeroes_all_64_bytes() -> None:
    layout = uring.sqe_layout()
    assert layout.size == 64
    sqe = garbage_sqe()
    layout.pack_into(sqe, 0)
    assert sqe == bytes(64)


def test_sqe_layout_writes_each_field_at_its_kernel_offset() -> None:
    layout = uring.sqe_layout("opcode", "fd", "user_data", "splice_fd_in", "pad2")
    sqe = garbage_sqe()
    layout.pack_into(sqe, 0, 30, -1, 2**64 - 1, -2, 5)
    assert decode(sqe) == want(opcode=30, fd=-1, user_data=2**64 - 1, splice_fd_in=-2, pad2=5)


@pytest.mark.parametrize(
    "names",
    [
        ("fd", "opcode"),  # out of order
        ("opcode", "opcode"),  # twice
        ("file_index", "splice_fd_in"),  # two members of one union
        ("off", "addr", "fd"),
        ("pad2", "addr3"),
    ],
)
def test_sqe_layout_rejects_overlapping_or_unordered_fields(names: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="overlaps or is out of order"):
        uring.sqe_layout(*names)
