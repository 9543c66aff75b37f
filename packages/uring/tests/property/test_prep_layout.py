"""Every `prep_*` writes liburing's SQE for any arguments, and nothing else.

The rules, written out here independently of `uring._prep`:

- The SQE is the kernel's `struct io_uring_sqe` (include/uapi/linux/io_uring.h), 64 bytes,
  little-endian. `FIELDS` below is that struct; its fields cover all 64 bytes exactly once,
  so comparing the decoded fields compares every byte.
- Each prep writes the fields liburing's `io_uring_prep_*` (src/include/liburing.h) writes,
  after `io_uring_get_sqe` zeroed the others (`io_uring_initialize_sqe`), so every other byte
  is zero, whatever garbage the SQE held before. `LAYOUTS` states, per function, liburing's
  assignments in liburing's field names, with C's conversions (`(__u64) -1` is all ones).
- Pointer arguments may be int addresses or live buffers; the SQE holds the buffer's address,
  computed here through ctypes rather than `uring.buffer_address`.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import uring

# --- the kernel's struct io_uring_sqe -------------------------------------------------------
# Kept apart from the copy in tests/unit/test_prep.py on purpose: test modules do not import
# each other (pytest --import-mode=importlib), and this table is the spec under test.

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

# liburing's names for the union members, as its prep helpers assign them.
ALIASES = {
    "addr2": "off",
    "splice_off_in": "addr",
    "splice_fd_in": "file_index",
    "buf_group": "buf_index",
    **dict.fromkeys(
        (
            "rw_flags",
            "fsync_flags",
            "poll32_events",
            "msg_flags",
            "timeout_flags",
            "accept_flags",
            "cancel_flags",
            "open_flags",
            "statx_flags",
            "splice_flags",
            "rename_flags",
            "unlink_flags",
            "msg_ring_flags",
            "waitid_flags",
            "futex_flags",
            "install_fd_flags",
        ),
        "op_flags",
    ),
}


def decode(sqe: Any) -> dict[str, int]:
    """Return every field of a 64-byte SQE."""
    assert len(sqe) == 64
    return {n: struct.unpack_from("<" + c, sqe, o)[0] for n, (o, c) in FIELDS.items()}


def want(**fields: int) -> dict[str, int]:
    """Return the decoded SQE that has `fields` set (liburing names) and zero elsewhere.

    Values are converted as a C assignment converts them: to the field's width, two's
    complement, so `off=-1` is 0xFFFFFFFFFFFFFFFF and `splice_fd_in=-1` is 0xFFFFFFFF.
    """
    out = dict.fromkeys(FIELDS, 0)
    seen: set[str] = set()
    for name, value in fields.items():
        field = ALIASES.get(name, name)
        assert field not in seen, f"{name} sets {field} twice"
        seen.add(field)
        code = FIELDS[field][1]
        bits = 8 * struct.calcsize(code)
        value &= (1 << bits) - 1
        if code.islower() and value >= 1 << (bits - 1):  # signed field
            value -= 1 << bits
        out[field] = value
    return out


def address_of(obj: Any) -> int:
    """The address liburing would be given for a pointer argument, found through ctypes."""
    if obj is None:
        return 0
    if isinstance(obj, int):
        return obj
    if isinstance(obj, bytes):
        return ctypes.cast(ctypes.c_char_p(obj), ctypes.c_void_p).value or 0
    if isinstance(obj, ctypes.Structure):
        return ctypes.addressof(obj)
    if isinstance(obj, uring.IovecArray):
        return obj.address
    # bytearray, or a writable memoryview slice of one: the first byte's address.
    return ctypes.addressof(ctypes.c_char.from_buffer(obj))


# --- io_uring.h values, written out (not read from uring) -----------------------------------

IOSQE_FIXED_FILE = 1 << 0
IOSQE_BUFFER_SELECT = 1 << 5
IORING_TIMEOUT_UPDATE = 1 << 1
IORING_POLL_ADD_MULTI = 1 << 0
IORING_ASYNC_CANCEL_FD = 1 << 1
IORING_RECV_MULTISHOT = 1 << 1
IORING_RECVSEND_FIXED_BUF = 1 << 2
IORING_ACCEPT_MULTISHOT = 1 << 0
IORING_MSG_SEND_FD = 1
IORING_MSG_RING_FLAGS_PASS = 1 << 1
IORING_FILE_INDEX_ALLOC = 0xFFFFFFFF

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


def target_slot(file_index: int) -> int:
    """liburing's `_direct` encoding: slot + 1, IORING_FILE_INDEX_ALLOC kept as it is."""
    return IORING_FILE_INDEX_ALLOC if file_index == IORING_FILE_INDEX_ALLOC else file_index + 1


# --- argument strategies, each in the range of the C parameter ------------------------------


def ints(bits: int, *, signed: bool = False) -> st.SearchStrategy[int]:
    if signed:
        return st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    return st.integers(0, (1 << bits) - 1)


U8, U16, U32, U64 = ints(8), ints(16), ints(32), ints(64)
S32, S64 = ints(32, signed=True), ints(64, signed=True)
NONNEG_INT = ints(31)  # a C `int` argument whose meaningful values are >= 0
FD = S32
OFFSET = st.one_of(st.just(-1), U64)  # __u64 offset; -1 is "the current file position"
FILE_INDEX = st.one_of(st.just(IORING_FILE_INDEX_ALLOC), ints(32).filter(lambda i: i < 2**32 - 1))

ADDRESS = U64
# Read-only pointer arguments: an address, bytes, a bytearray or a memoryview slice.
RO_BUF = st.one_of(
    ADDRESS,
    st.binary(max_size=32),
    st.binary(min_size=1, max_size=32).map(bytearray),
    st.binary(min_size=2, max_size=32).map(lambda b: memoryview(bytearray(b))[1:]),
)
# Pointer arguments the kernel writes through: bytes are not allowed.
RW_BUF = st.one_of(
    ADDRESS,
    st.binary(min_size=1, max_size=32).map(bytearray),
    st.binary(min_size=2, max_size=32).map(lambda b: memoryview(bytearray(b))[1:]),
)
OPT_RW_BUF = st.one_of(st.none(), RW_BUF)
PATH = st.one_of(ADDRESS, st.binary(max_size=32).map(lambda b: b.replace(b"\0", b"/")))
TIMESPEC = st.one_of(
    ADDRESS, st.builds(uring.KernelTimespec, ints(63), st.integers(0, 999_999_999))
)
IOVECS = st.one_of(
    ADDRESS,
    st.lists(st.binary(max_size=16).map(bytearray), max_size=4).map(uring.IovecArray),
)
GARBAGE = st.binary(min_size=64, max_size=64)


@dataclass(frozen=True)
class Layout:
    """How one prep function fills the SQE: its arguments, and liburing's fields for them."""

    args: st.SearchStrategy[tuple[Any, ...]]
    expect: Callable[..., dict[str, int]]


def a(obj: Any) -> int:
    return address_of(obj)


LAYOUTS: dict[str, Layout] = {
    "prep_nop": Layout(st.tuples(), lambda: want(opcode=OP["NOP"], fd=-1)),
    # io_uring_prep_rw(op, sqe, fd, addr, len, offset) and the helpers built on it
    "prep_read": Layout(
        st.tuples(FD, RW_BUF, U32, OFFSET),
        lambda fd, buf, n, off: want(opcode=OP["READ"], fd=fd, addr=a(buf), len=n, off=off),
    ),
    "prep_write": Layout(
        st.tuples(FD, RO_BUF, U32, OFFSET),
        lambda fd, buf, n, off: want(opcode=OP["WRITE"], fd=fd, addr=a(buf), len=n, off=off),
    ),
    "prep_readv": Layout(  # io_uring_prep_readv2
        st.tuples(FD, IOVECS, U32, OFFSET, U32),
        lambda fd, iov, nr, off, flags: want(
            opcode=OP["READV"], fd=fd, addr=a(iov), len=nr, off=off, rw_flags=flags
        ),
    ),
    "prep_writev": Layout(  # io_uring_prep_writev2
        st.tuples(FD, IOVECS, U32, OFFSET, U32),
        lambda fd, iov, nr, off, flags: want(
            opcode=OP["WRITEV"], fd=fd, addr=a(iov), len=nr, off=off, rw_flags=flags
        ),
    ),
    "prep_read_fixed": Layout(
        st.tuples(FD, RW_BUF, U32, OFFSET, U16),
        lambda fd, buf, n, off, idx: want(
            opcode=OP["READ_FIXED"], fd=fd, addr=a(buf), len=n, off=off, buf_index=idx
        ),
    ),
    "prep_write_fixed": Layout(
        st.tuples(FD, RO_BUF, U32, OFFSET, U16),
        lambda fd, buf, n, off, idx: want(
            opcode=OP["WRITE_FIXED"], fd=fd, addr=a(buf), len=n, off=off, buf_index=idx
        ),
    ),
    "prep_read_multishot": Layout(
        st.tuples(FD, U32, OFFSET, U16),
        lambda fd, n, off, group: want(
            opcode=OP["READ_MULTISHOT"],
            flags=IOSQE_BUFFER_SELECT,
            fd=fd,
            len=n,
            off=off,
            buf_group=group,
        ),
    ),
    "prep_fsync": Layout(
        st.tuples(FD, U32),
        lambda fd, flags: want(opcode=OP["FSYNC"], fd=fd, fsync_flags=flags),
    ),
    "prep_fallocate": Layout(  # the length travels in addr
        st.tuples(FD, U32, U64, U64),
        lambda fd, mode, off, length: want(
            opcode=OP["FALLOCATE"], fd=fd, len=mode, off=off, addr=length
        ),
    ),
    "prep_ftruncate": Layout(
        st.tuples(FD, ints(63)),
        lambda fd, length: want(opcode=OP["FTRUNCATE"], fd=fd, off=length),
    ),
    "prep_splice": Layout(
        st.tuples(FD, S64, FD, S64, U32, U32),
        lambda fd_in, off_in, fd_out, off_out, n, flags: want(
            opcode=OP["SPLICE"],
            fd=fd_out,
            off=off_out,
            splice_off_in=off_in,
            len=n,
            splice_flags=flags,
            splice_fd_in=fd_in,
        ),
    ),
    "prep_tee": Layout(
        st.tuples(FD, FD, U32, U32),
        lambda fd_in, fd_out, n, flags: want(
            opcode=OP["TEE"], fd=fd_out, len=n, splice_flags=flags, splice_fd_in=fd_in
        ),
    ),
    # paths
    "prep_openat": Layout(
        st.tuples(FD, PATH, U32, U32),
        lambda dfd, path, flags, mode: want(
            opcode=OP["OPENAT"], fd=dfd, addr=a(path), len=mode, open_flags=flags
        ),
    ),
    "prep_openat_direct": Layout(
        st.tuples(FD, PATH, U32, U32, FILE_INDEX),
        lambda dfd, path, flags, mode, slot: want(
            opcode=OP["OPENAT"],
            fd=dfd,
            addr=a(path),
            len=mode,
            open_flags=flags,
            file_index=target_slot(slot),
        ),
    ),
    "prep_statx": Layout(  # the statx buffer travels in off
        st.tuples(FD, PATH, U32, U32, RW_BUF),
        lambda dfd, path, flags, mask, buf: want(
            opcode=OP["STATX"], fd=dfd, addr=a(path), len=mask, off=a(buf), statx_flags=flags
        ),
    ),
    "prep_unlinkat": Layout(
        st.tuples(FD, PATH, U32),
        lambda dfd, path, flags: want(
            opcode=OP["UNLINKAT"], fd=dfd, addr=a(path), unlink_flags=flags
        ),
    ),
    "prep_mkdirat": Layout(
        st.tuples(FD, PATH, U32),
        lambda dfd, path, mode: want(opcode=OP["MKDIRAT"], fd=dfd, addr=a(path), len=mode),
    ),
    # newdfd is an int that liburing casts to __u32 for len; AT_FDCWD (-100) is left to
    # tests/unit/test_prep.py, where uring is known to reject it.
    "prep_renameat": Layout(
        st.tuples(FD, PATH, NONNEG_INT, PATH, U32),
        lambda olddfd, old, newdfd, new, flags: want(
            opcode=OP["RENAMEAT"],
            fd=olddfd,
            addr=a(old),
            len=newdfd,
            off=a(new),
            rename_flags=flags,
        ),
    ),
    "prep_close": Layout(st.tuples(FD), lambda fd: want(opcode=OP["CLOSE"], fd=fd)),
    "prep_close_direct": Layout(
        st.tuples(ints(32).filter(lambda i: i < 2**32 - 1)),
        lambda slot: want(opcode=OP["CLOSE"], fd=0, file_index=slot + 1),
    ),
    "prep_files_update": Layout(
        st.tuples(RO_BUF, U32, U32),
        lambda fds, nr, off: want(opcode=OP["FILES_UPDATE"], fd=-1, addr=a(fds), len=nr, off=off),
    ),
    "prep_fixed_fd_install": Layout(
        st.tuples(FD, U32),
        lambda fd, flags: want(
            opcode=OP["FIXED_FD_INSTALL"], flags=IOSQE_FIXED_FILE, fd=fd, install_fd_flags=flags
        ),
    ),
    # sockets
    "prep_socket": Layout(  # type travels in off, protocol in len
        st.tuples(NONNEG_INT, NONNEG_INT, NONNEG_INT, U32),
        lambda domain, type_, proto, flags: want(
            opcode=OP["SOCKET"], fd=domain, off=type_, len=proto, rw_flags=flags
        ),
    ),
    "prep_socket_direct": Layout(
        st.tuples(NONNEG_INT, NONNEG_INT, NONNEG_INT, FILE_INDEX, U32),
        lambda domain, type_, proto, slot, flags: want(
            opcode=OP["SOCKET"],
            fd=domain,
            off=type_,
            len=proto,
            rw_flags=flags,
            file_index=target_slot(slot),
        ),
    ),
    "prep_connect": Layout(  # addrlen travels in off
        st.tuples(FD, RO_BUF, U32),
        lambda fd, addr, addrlen: want(opcode=OP["CONNECT"], fd=fd, addr=a(addr), off=addrlen),
    ),
    "prep_bind": Layout(
        st.tuples(FD, RO_BUF, U32),
        lambda fd, addr, addrlen: want(opcode=OP["BIND"], fd=fd, addr=a(addr), off=addrlen),
    ),
    "prep_listen": Layout(
        st.tuples(FD, NONNEG_INT),
        lambda fd, backlog: want(opcode=OP["LISTEN"], fd=fd, len=backlog),
    ),
    "prep_accept": Layout(  # the addrlen pointer travels in off
        st.tuples(FD, OPT_RW_BUF, OPT_RW_BUF, U32),
        lambda fd, addr, addrlen, flags: want(
            opcode=OP["ACCEPT"], fd=fd, addr=a(addr), off=a(addrlen), accept_flags=flags
        ),
    ),
    "prep_accept_direct": Layout(
        st.tuples(FD, OPT_RW_BUF, OPT_RW_BUF, U32, FILE_INDEX),
        lambda fd, addr, addrlen, flags, slot: want(
            opcode=OP["ACCEPT"],
            fd=fd,
            addr=a(addr),
            off=a(addrlen),
            accept_flags=flags,
            file_index=target_slot(slot),
        ),
    ),
    "prep_accept_multishot": Layout(  # io_uring_prep_multishot_accept
        st.tuples(FD, OPT_RW_BUF, OPT_RW_BUF, U32),
        lambda fd, addr, addrlen, flags: want(
            opcode=OP["ACCEPT"],
            ioprio=IORING_ACCEPT_MULTISHOT,
            fd=fd,
            addr=a(addr),
            off=a(addrlen),
            accept_flags=flags,
        ),
    ),
    "prep_accept_direct_multishot": Layout(  # io_uring_prep_multishot_accept_direct
        st.tuples(FD, OPT_RW_BUF, OPT_RW_BUF, U32),
        lambda fd, addr, addrlen, flags: want(
            opcode=OP["ACCEPT"],
            ioprio=IORING_ACCEPT_MULTISHOT,
            fd=fd,
            addr=a(addr),
            off=a(addrlen),
            accept_flags=flags,
            file_index=IORING_FILE_INDEX_ALLOC,
        ),
    ),
    "prep_shutdown": Layout(
        st.tuples(FD, NONNEG_INT),
        lambda fd, how: want(opcode=OP["SHUTDOWN"], fd=fd, len=how),
    ),
    "prep_recv": Layout(
        st.tuples(FD, RW_BUF, U32, U32),
        lambda fd, buf, n, flags: want(
            opcode=OP["RECV"], fd=fd, addr=a(buf), len=n, msg_flags=flags
        ),
    ),
    "prep_recv_multishot": Layout(
        st.tuples(FD, OPT_RW_BUF, U32, U32),
        lambda fd, buf, n, flags: want(
            opcode=OP["RECV"],
            ioprio=IORING_RECV_MULTISHOT,
            fd=fd,
            addr=a(buf),
            len=n,
            msg_flags=flags,
        ),
    ),
    "prep_send": Layout(
        st.tuples(FD, RO_BUF, U32, U32),
        lambda fd, buf, n, flags: want(
            opcode=OP["SEND"], fd=fd, addr=a(buf), len=n, msg_flags=flags
        ),
    ),
    "prep_send_zc": Layout(
        st.tuples(FD, RO_BUF, U32, U32, U16),
        lambda fd, buf, n, flags, zc: want(
            opcode=OP["SEND_ZC"], ioprio=zc, fd=fd, addr=a(buf), len=n, msg_flags=flags
        ),
    ),
    "prep_send_fixed_zc": Layout(  # io_uring_prep_send_zc_fixed
        st.tuples(FD, RO_BUF, U32, U32, U16, U16),
        lambda fd, buf, n, flags, zc, idx: want(
            opcode=OP["SEND_ZC"],
            ioprio=zc | IORING_RECVSEND_FIXED_BUF,
            fd=fd,
            addr=a(buf),
            len=n,
            msg_flags=flags,
            buf_index=idx,
        ),
    ),
    "prep_recvmsg": Layout(
        st.tuples(FD, RW_BUF, U32),
        lambda fd, msg, flags: want(
            opcode=OP["RECVMSG"], fd=fd, addr=a(msg), len=1, msg_flags=flags
        ),
    ),
    "prep_recvmsg_multishot": Layout(
        st.tuples(FD, RW_BUF, U32),
        lambda fd, msg, flags: want(
            opcode=OP["RECVMSG"],
            ioprio=IORING_RECV_MULTISHOT,
            fd=fd,
            addr=a(msg),
            len=1,
            msg_flags=flags,
        ),
    ),
    "prep_sendmsg": Layout(
        st.tuples(FD, RO_BUF, U32),
        lambda fd, msg, flags: want(
            opcode=OP["SENDMSG"], fd=fd, addr=a(msg), len=1, msg_flags=flags
        ),
    ),
    "prep_sendmsg_zc": Layout(
        st.tuples(FD, RO_BUF, U32),
        lambda fd, msg, flags: want(
            opcode=OP["SENDMSG_ZC"], fd=fd, addr=a(msg), len=1, msg_flags=flags
        ),
    ),
    # polling, timeouts, cancellation
    "prep_poll_add": Layout(
        st.tuples(FD, U32),
        lambda fd, mask: want(opcode=OP["POLL_ADD"], fd=fd, poll32_events=mask),
    ),
    "prep_poll_multishot": Layout(
        st.tuples(FD, U32),
        lambda fd, mask: want(
            opcode=OP["POLL_ADD"], fd=fd, len=IORING_POLL_ADD_MULTI, poll32_events=mask
        ),
    ),
    "prep_poll_remove": Layout(
        st.tuples(U64),
        lambda user_data: want(opcode=OP["POLL_REMOVE"], fd=-1, addr=user_data),
    ),
    "prep_poll_update": Layout(
        st.tuples(U64, U64, U32, U32),
        lambda old, new, mask, flags: want(
            opcode=OP["POLL_REMOVE"], fd=-1, addr=old, off=new, len=flags, poll32_events=mask
        ),
    ),
    "prep_timeout": Layout(
        st.tuples(TIMESPEC, U32, U32),
        lambda ts, count, flags: want(
            opcode=OP["TIMEOUT"], fd=-1, addr=a(ts), len=1, off=count, timeout_flags=flags
        ),
    ),
    "prep_timeout_remove": Layout(
        st.tuples(U64, U32),
        lambda user_data, flags: want(
            opcode=OP["TIMEOUT_REMOVE"], fd=-1, addr=user_data, timeout_flags=flags
        ),
    ),
    "prep_timeout_update": Layout(
        st.tuples(TIMESPEC, U64, U32),
        lambda ts, user_data, flags: want(
            opcode=OP["TIMEOUT_REMOVE"],
            fd=-1,
            off=a(ts),
            addr=user_data,
            timeout_flags=flags | IORING_TIMEOUT_UPDATE,
        ),
    ),
    "prep_link_timeout": Layout(
        st.tuples(TIMESPEC, U32),
        lambda ts, flags: want(
            opcode=OP["LINK_TIMEOUT"], fd=-1, addr=a(ts), len=1, timeout_flags=flags
        ),
    ),
    "prep_cancel64": Layout(
        st.tuples(U64, U32),
        lambda user_data, flags: want(
            opcode=OP["ASYNC_CANCEL"], fd=-1, addr=user_data, cancel_flags=flags
        ),
    ),
    "prep_cancel_fd": Layout(
        st.tuples(FD, U32),
        lambda fd, flags: want(
            opcode=OP["ASYNC_CANCEL"], fd=fd, cancel_flags=flags | IORING_ASYNC_CANCEL_FD
        ),
    ),
    # buffers, rings, futexes, processes
    "prep_provide_buffers": Layout(  # nr travels in fd, the first buffer id in off
        st.tuples(RW_BUF, U32, NONNEG_INT, U16, U16),
        lambda addr, length, nr, bgid, bid: want(
            opcode=OP["PROVIDE_BUFFERS"],
            fd=nr,
            addr=a(addr),
            len=length,
            off=bid,
            buf_group=bgid,
        ),
    ),
    "prep_remove_buffers": Layout(
        st.tuples(NONNEG_INT, U16),
        lambda nr, bgid: want(opcode=OP["REMOVE_BUFFERS"], fd=nr, buf_group=bgid),
    ),
    "prep_msg_ring": Layout(
        st.tuples(FD, U32, U64, U32),
        lambda fd, length, data, flags: want(
            opcode=OP["MSG_RING"], fd=fd, len=length, off=data, msg_ring_flags=flags
        ),
    ),
    "prep_msg_ring_cqe_flags": Layout(
        st.tuples(FD, U32, U64, U32, U32),
        lambda fd, length, data, flags, cqe_flags: want(
            opcode=OP["MSG_RING"],
            fd=fd,
            len=length,
            off=data,
            msg_ring_flags=IORING_MSG_RING_FLAGS_PASS | flags,
            file_index=cqe_flags,
        ),
    ),
    "prep_msg_ring_fd": Layout(
        st.tuples(FD, NONNEG_INT, FILE_INDEX, U64, U32),
        lambda fd, source, target, data, flags: want(
            opcode=OP["MSG_RING"],
            fd=fd,
            addr=IORING_MSG_SEND_FD,
            off=data,
            addr3=source,
            file_index=target_slot(target),
            msg_ring_flags=flags,
        ),
    ),
    # futex_flags is a uint32_t that liburing stores in the s32 fd; FUTEX2_* use low bits.
    "prep_futex_wait": Layout(
        st.tuples(RO_BUF, U64, U64, NONNEG_INT, U32),
        lambda futex, val, mask, futex_flags, flags: want(
            opcode=OP["FUTEX_WAIT"],
            fd=futex_flags,
            addr=a(futex),
            off=val,
            futex_flags=flags,
            addr3=mask,
        ),
    ),
    "prep_futex_wake": Layout(
        st.tuples(RO_BUF, U64, U64, NONNEG_INT, U32),
        lambda futex, val, mask, futex_flags, flags: want(
            opcode=OP["FUTEX_WAKE"],
            fd=futex_flags,
            addr=a(futex),
            off=val,
            futex_flags=flags,
            addr3=mask,
        ),
    ),
    "prep_waitid": Layout(  # id in fd, idtype in len, infop in addr2, options in file_index
        st.tuples(U32, NONNEG_INT, OPT_RW_BUF, U32, U32),
        lambda idtype, id_, infop, options, flags: want(
            opcode=OP["WAITID"],
            fd=id_,
            len=idtype,
            addr2=a(infop),
            file_index=options,
            waitid_flags=flags,
        ),
    ),
}


def test_every_exported_prep_has_a_layout() -> None:
    exported = {name for name in uring.__all__ if name.startswith("prep_")}
    assert exported == set(LAYOUTS)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
@given(data=st.data())
def test_prep_writes_liburings_fields_and_zero_elsewhere(name: str, data: st.DataObject) -> None:
    layout = LAYOUTS[name]
    args = data.draw(layout.args, label="args")
    sqe = bytearray(data.draw(GARBAGE, label="garbage"))
    getattr(uring, name)(sqe, *args)
    assert decode(sqe) == layout.expect(*args)


# --- the setters and the layout compiler ----------------------------------------------------


@given(garbage=GARBAGE, data64=U64)
def test_sqe_set_data64_writes_only_user_data(garbage: bytes, data64: int) -> None:
    sqe = bytearray(garbage)
    uring.sqe_set_data64(sqe, data64)
    assert decode(sqe) == {**decode(garbage), "user_data": data64}


@given(garbage=GARBAGE, flags=U8)
def test_sqe_set_flags_writes_only_flags(garbage: bytes, flags: int) -> None:
    sqe = bytearray(garbage)
    uring.sqe_set_flags(sqe, flags)
    assert decode(sqe) == {**decode(garbage), "flags": flags}


@given(garbage=GARBAGE, bgid=U16)
def test_sqe_set_buf_group_writes_only_buf_group(garbage: bytes, bgid: int) -> None:
    sqe = bytearray(garbage)
    uring.sqe_set_buf_group(sqe, bgid)
    assert decode(sqe) == {**decode(garbage), "buf_index": bgid}


def field_value(name: str) -> st.SearchStrategy[int]:
    code = FIELDS[name][1]
    return ints(8 * struct.calcsize(code), signed=code.islower())


@given(
    names=st.sets(st.sampled_from(sorted(FIELDS))).map(
        lambda s: sorted(s, key=lambda n: FIELDS[n][0])
    ),
    garbage=GARBAGE,
    data=st.data(),
)
def test_sqe_layout_packs_the_named_fields_and_zeroes_the_rest(
    names: list[str], garbage: bytes, data: st.DataObject
) -> None:
    values = [data.draw(field_value(name), label=name) for name in names]
    layout = uring.sqe_layout(*names)
    assert layout.size == 64
    sqe = bytearray(garbage)
    layout.pack_into(sqe, 0, *values)
    assert decode(sqe) == want(**dict(zip(names, values, strict=True)))


@given(
    names=st.lists(st.sampled_from(sorted(FIELDS)), min_size=2, unique=True).filter(
        lambda ns: ns != sorted(ns, key=lambda n: FIELDS[n][0])
    )
)
def test_sqe_layout_rejects_fields_out_of_offset_order(names: list[str]) -> None:
    with pytest.raises(ValueError, match="overlaps or is out of order"):
        uring.sqe_layout(*names)
