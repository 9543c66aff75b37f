"""`prep_*`: write one SQE for one operation, as liburing's `io_uring_prep_*` do.

Every function takes the SQE first (a 64-byte writable buffer, as `Ring.get_sqe` returns),
then liburing's arguments in liburing's order, so `man io_uring_prep_recv` documents
`prep_recv`. Each one writes all 64 bytes in one `Struct.pack_into`: the fields the
operation uses, and zero everywhere else. One keyword-only argument is added to every
function, `user_data` (default 0), written in the same pack: it saves the separate
`sqe_set_data64` call that liburing needs, which costs as much as the prep itself in
Python. Where liburing names a parameter `user_data` (the target of a cancel, a timeout or
poll removal), it is called `target_user_data` here. The Struct of each operation is
compiled once at import with padding for the fields it always zeroes, so a prep call packs
only what varies.

Variants are the base helper plus one field, named with suffixes in a fixed order:
`_direct` (the result is a fixed-file slot), `_fixed` (a registered buffer),
`_multishot` (one SQE, many CQEs), `_zc` (zero copy). liburing spells two of them the other
way round (`io_uring_prep_multishot_accept`); their `See:` lines name the man page.

Buffers: an argument typed `Address` is an int address or a buffer-protocol object whose
address is taken now. The memory must stay alive, unmoved, until the operation's last CQE
(see `uring._memory`).

The SQE layout (`struct io_uring_sqe`, 64 bytes, little-endian on every supported arch):

    0 opcode u8 | 1 flags u8 | 2 ioprio u16 | 4 fd s32 | 8 off/addr2 u64 | 16 addr u64
    24 len u32 | 28 op_flags u32 (rw/msg/timeout/accept/cancel/open/... flags)
    32 user_data u64 | 40 buf_index/buf_group u16 | 42 personality u16
    44 file_index/splice_fd_in u32 | 48 addr3 u64 | 56 pad u64
"""

from __future__ import annotations

import ctypes
import struct
from typing import Any, Final

from uring._constants import (
    FILE_INDEX_ALLOC,
    MSG_SEND_FD,
    AcceptFlag,
    AsyncCancelFlag,
    MsgRingFlag,
    Op,
    PollFlag,
    RecvSendFlag,
    SqeFlag,
    TimeoutFlag,
)
from uring._memory import _BYTES_OFFSET, Address, IovecArray, buffer_address
from uring._syscall import KernelTimespec

# Plain ints, not enum members: an enum attribute lookup costs more than the pack itself.
_ACCEPTFLAG_MULTISHOT: Final = int(AcceptFlag.MULTISHOT)
_MSGRINGFLAG_FLAGS_PASS: Final = int(MsgRingFlag.FLAGS_PASS)
_OP_ACCEPT: Final = int(Op.ACCEPT)
_OP_ASYNC_CANCEL: Final = int(Op.ASYNC_CANCEL)
_OP_BIND: Final = int(Op.BIND)
_OP_CLOSE: Final = int(Op.CLOSE)
_OP_CONNECT: Final = int(Op.CONNECT)
_OP_FALLOCATE: Final = int(Op.FALLOCATE)
_OP_FILES_UPDATE: Final = int(Op.FILES_UPDATE)
_OP_FIXED_FD_INSTALL: Final = int(Op.FIXED_FD_INSTALL)
_OP_FSYNC: Final = int(Op.FSYNC)
_OP_FTRUNCATE: Final = int(Op.FTRUNCATE)
_OP_FUTEX_WAIT: Final = int(Op.FUTEX_WAIT)
_OP_FUTEX_WAKE: Final = int(Op.FUTEX_WAKE)
_OP_LINK_TIMEOUT: Final = int(Op.LINK_TIMEOUT)
_OP_LISTEN: Final = int(Op.LISTEN)
_OP_MKDIRAT: Final = int(Op.MKDIRAT)
_OP_MSG_RING: Final = int(Op.MSG_RING)
_OP_NOP: Final = int(Op.NOP)
_OP_OPENAT: Final = int(Op.OPENAT)
_OP_POLL_ADD: Final = int(Op.POLL_ADD)
_OP_POLL_REMOVE: Final = int(Op.POLL_REMOVE)
_OP_PROVIDE_BUFFERS: Final = int(Op.PROVIDE_BUFFERS)
_OP_READ: Final = int(Op.READ)
_OP_READV: Final = int(Op.READV)
_OP_READ_FIXED: Final = int(Op.READ_FIXED)
_OP_READ_MULTISHOT: Final = int(Op.READ_MULTISHOT)
_OP_RECV: Final = int(Op.RECV)
_OP_RECVMSG: Final = int(Op.RECVMSG)
_OP_REMOVE_BUFFERS: Final = int(Op.REMOVE_BUFFERS)
_OP_RENAMEAT: Final = int(Op.RENAMEAT)
_OP_SEND: Final = int(Op.SEND)
_OP_SENDMSG: Final = int(Op.SENDMSG)
_OP_SENDMSG_ZC: Final = int(Op.SENDMSG_ZC)
_OP_SEND_ZC: Final = int(Op.SEND_ZC)
_OP_SHUTDOWN: Final = int(Op.SHUTDOWN)
_OP_SOCKET: Final = int(Op.SOCKET)
_OP_SPLICE: Final = int(Op.SPLICE)
_OP_STATX: Final = int(Op.STATX)
_OP_TEE: Final = int(Op.TEE)
_OP_TIMEOUT: Final = int(Op.TIMEOUT)
_OP_TIMEOUT_REMOVE: Final = int(Op.TIMEOUT_REMOVE)
_OP_UNLINKAT: Final = int(Op.UNLINKAT)
_OP_WAITID: Final = int(Op.WAITID)
_OP_WRITE: Final = int(Op.WRITE)
_OP_WRITEV: Final = int(Op.WRITEV)
_OP_WRITE_FIXED: Final = int(Op.WRITE_FIXED)
_POLLFLAG_ADD_MULTI: Final = int(PollFlag.ADD_MULTI)
_RECVSENDFLAG_FIXED_BUF: Final = int(RecvSendFlag.FIXED_BUF)
_RECVSENDFLAG_RECV_MULTISHOT: Final = int(RecvSendFlag.RECV_MULTISHOT)
_SQEFLAG_BUFFER_SELECT: Final = int(SqeFlag.BUFFER_SELECT)
_SQEFLAG_FIXED_FILE: Final = int(SqeFlag.FIXED_FILE)
_TIMEOUTFLAG_UPDATE: Final = int(TimeoutFlag.UPDATE)

SQE_SIZE = 64

# name: (offset, struct code). The one table every layout below is built from.
SQE_FIELDS: dict[str, tuple[int, str]] = {
    "opcode": (0, "B"),
    "flags": (1, "B"),
    "ioprio": (2, "H"),
    "fd": (4, "i"),
    "off": (8, "Q"),
    "addr": (16, "Q"),
    "len": (24, "I"),
    "op_flags": (28, "I"),
    "user_data": (32, "Q"),
    "buf_index": (40, "H"),
    "personality": (42, "H"),
    "file_index": (44, "I"),
    "splice_fd_in": (44, "i"),
    "addr3": (48, "Q"),
    "pad2": (56, "Q"),
}

_U64 = 0xFFFF_FFFF_FFFF_FFFF
_U32 = 0xFFFF_FFFF  # a C int stored in a u32 field (AT_FDCWD, -1) keeps its bits


def sqe_layout(*names: str) -> struct.Struct:
    """Compile a Struct that writes the named SQE fields and zeroes the other bytes.

    Args:
        names: field names from `SQE_FIELDS`, in offset order.

    Returns:
        A 64-byte `struct.Struct` whose `pack_into` takes the fields' values in order.
    """
    fmt, pos = ["<"], 0
    for name in names:
        offset, code = SQE_FIELDS[name]
        if offset < pos:
            raise ValueError(f"sqe field {name} at {offset} overlaps or is out of order")
        if offset > pos:
            fmt.append(f"{offset - pos}x")
        fmt.append(code)
        pos = offset + struct.calcsize("<" + code)
    fmt.append(f"{SQE_SIZE - pos}x")
    layout = struct.Struct("".join(fmt))
    assert layout.size == SQE_SIZE
    return layout


# One layout per shape of operation (see the module docstring for why).
_NOP = sqe_layout("opcode", "fd", "user_data").pack_into
_RW = sqe_layout("opcode", "fd", "off", "addr", "len", "op_flags", "user_data").pack_into
_RW_FIXED = sqe_layout(
    "opcode", "fd", "off", "addr", "len", "op_flags", "user_data", "buf_index"
).pack_into
_IO = sqe_layout("opcode", "ioprio", "fd", "off", "addr", "len", "op_flags", "user_data").pack_into
_IO_BUF = sqe_layout(
    "opcode", "ioprio", "fd", "addr", "len", "op_flags", "user_data", "buf_index"
).pack_into
_IO_FILE = sqe_layout(
    "opcode", "ioprio", "fd", "off", "addr", "len", "op_flags", "user_data", "file_index"
).pack_into
_SPLICE = sqe_layout(
    "opcode", "fd", "off", "addr", "len", "op_flags", "user_data", "splice_fd_in"
).pack_into
_BUFS = sqe_layout("opcode", "fd", "off", "addr", "len", "user_data", "buf_index").pack_into
_READ_MULTI = sqe_layout("opcode", "flags", "fd", "off", "len", "user_data", "buf_index").pack_into
_MSG_RING = sqe_layout(
    "opcode", "fd", "off", "addr", "len", "op_flags", "user_data", "file_index", "addr3"
).pack_into
_FUTEX = sqe_layout("opcode", "fd", "off", "addr", "op_flags", "user_data", "addr3").pack_into
_WAITID = sqe_layout("opcode", "fd", "off", "len", "op_flags", "user_data", "file_index").pack_into
_INSTALL = sqe_layout("opcode", "flags", "fd", "op_flags", "user_data").pack_into

_pack_user_data = struct.Struct("<Q").pack_into  # user_data sits at offset 32
_FLAGS = struct.Struct("<B")
_BUF_GROUP = struct.Struct("<H")
_FLAGS_OFFSET = SQE_FIELDS["flags"][0]
_BUF_GROUP_OFFSET = SQE_FIELDS["buf_index"][0]


def _addr(buf: Address | None, writable: bool = False) -> int:
    return 0 if buf is None else buffer_address(buf, writable=writable)


def _ts_addr(ts: KernelTimespec | int) -> int:
    return ts if type(ts) is int else ctypes.addressof(ts)  # type: ignore[arg-type]


def _iov_addr(iovecs: IovecArray | int) -> int:
    return iovecs if type(iovecs) is int else iovecs.address  # type: ignore[union-attr]


def _target_slot(file_index: int) -> int:
    """Encode a fixed-file slot for `sqe->file_index`: slot + 1, or ALLOC to let the kernel
    pick one (liburing `__io_uring_set_target_fixed_file`)."""
    # -1 as a C int is ALLOC too, as liburing's callers write it.
    return FILE_INDEX_ALLOC if file_index in (FILE_INDEX_ALLOC, -1) else file_index + 1


def _path_addr(path: bytes | int) -> int:
    if type(path) is int:
        return path
    if type(path) is not bytes:
        raise TypeError(f"path must be bytes kept alive by the caller, not {type(path)}")
    if b"\0" in path:
        raise ValueError("path contains a NUL byte")
    # CPython stores a NUL after the data of every bytes object, so the C string ends there.
    return buffer_address(path)


# --- SQE fields set after a prep -------------------------------------------------------


def sqe_set_data64(sqe: Any, data: int) -> None:
    """Set `user_data`, returned unchanged in the operation's CQEs.

    See: io_uring_sqe_set_data64(3)
    """
    _pack_user_data(sqe, 32, data)


def sqe_set_flags(sqe: Any, flags: int) -> None:
    """Replace the SQE's `IOSQE_*` flags (`SqeFlag`) with `flags`.

    See: io_uring_sqe_set_flags(3)
    """
    _FLAGS.pack_into(sqe, _FLAGS_OFFSET, flags)


def sqe_set_buf_group(sqe: Any, bgid: int) -> None:
    """Set the provided-buffer group a `_SQEFLAG_BUFFER_SELECT` operation picks from.

    See: io_uring_sqe_set_buf_group(3)
    """
    _BUF_GROUP.pack_into(sqe, _BUF_GROUP_OFFSET, bgid)


# --- no-op, file reads and writes ---------------------------------------------------------


def prep_nop(sqe: Any, *, user_data: int = 0) -> None:
    """Prepare a no-op; it completes with res 0. See: io_uring_prep_nop(3)"""
    _NOP(sqe, 0, _OP_NOP, -1, user_data)


def prep_read(
    sqe: Any, fd: int, buf: Address, nbytes: int, offset: int, *, user_data: int = 0
) -> None:
    """Read up to `nbytes` at `offset` (-1: the file position) into `buf`.

    See: io_uring_prep_read(3)
    """
    _RW(sqe, 0, _OP_READ, fd, offset & _U64, _addr(buf, True), nbytes, 0, user_data)


def prep_write(
    sqe: Any, fd: int, buf: Address, nbytes: int, offset: int, *, user_data: int = 0
) -> None:
    """Write `nbytes` of `buf` at `offset` (-1: the file position).

    See: io_uring_prep_write(3)
    """
    _RW(sqe, 0, _OP_WRITE, fd, offset & _U64, _addr(buf), nbytes, 0, user_data)


def prep_readv(
    sqe: Any,
    fd: int,
    iovecs: IovecArray | int,
    nr_vecs: int,
    offset: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Vectored read; `flags` are `RWF_*` (readv2). See: io_uring_prep_readv2(3)"""
    _RW(sqe, 0, _OP_READV, fd, offset & _U64, _iov_addr(iovecs), nr_vecs, flags, user_data)


def prep_writev(
    sqe: Any,
    fd: int,
    iovecs: IovecArray | int,
    nr_vecs: int,
    offset: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Vectored write; `flags` are `RWF_*` (writev2). See: io_uring_prep_writev2(3)"""
    _RW(sqe, 0, _OP_WRITEV, fd, offset & _U64, _iov_addr(iovecs), nr_vecs, flags, user_data)


def prep_read_fixed(
    sqe: Any, fd: int, buf: Address, nbytes: int, offset: int, buf_index: int, *, user_data: int = 0
) -> None:
    """Read into registered buffer `buf_index`; `buf` lies inside it.

    See: io_uring_prep_read_fixed(3)
    """
    addr = _addr(buf, True)
    _RW_FIXED(sqe, 0, _OP_READ_FIXED, fd, offset & _U64, addr, nbytes, 0, user_data, buf_index)


def prep_write_fixed(
    sqe: Any, fd: int, buf: Address, nbytes: int, offset: int, buf_index: int, *, user_data: int = 0
) -> None:
    """Write from registered buffer `buf_index`; `buf` lies inside it.

    See: io_uring_prep_write_fixed(3)
    """
    addr = _addr(buf)
    _RW_FIXED(sqe, 0, _OP_WRITE_FIXED, fd, offset & _U64, addr, nbytes, 0, user_data, buf_index)


def prep_read_multishot(
    sqe: Any, fd: int, nbytes: int, offset: int, buf_group: int, *, user_data: int = 0
) -> None:
    """Read repeatedly into buffers of `buf_group` (pipes, eventfds, character devices).

    See: io_uring_prep_read_multishot(3)
    """
    _READ_MULTI(
        sqe,
        0,
        _OP_READ_MULTISHOT,
        _SQEFLAG_BUFFER_SELECT,
        fd,
        offset & _U64,
        nbytes,
        user_data,
        buf_group,
    )


def prep_fsync(sqe: Any, fd: int, fsync_flags: int = 0, *, user_data: int = 0) -> None:
    """fsync, or fdatasync with `FSYNC_DATASYNC`. See: io_uring_prep_fsync(3)"""
    _RW(sqe, 0, _OP_FSYNC, fd, 0, 0, 0, fsync_flags, user_data)


def prep_fallocate(
    sqe: Any, fd: int, mode: int, offset: int, length: int, *, user_data: int = 0
) -> None:
    """fallocate(2); the length travels in `addr`. See: io_uring_prep_fallocate(3)"""
    _RW(sqe, 0, _OP_FALLOCATE, fd, offset, length, mode, 0, user_data)


def prep_ftruncate(sqe: Any, fd: int, length: int, *, user_data: int = 0) -> None:
    """ftruncate(2). See: io_uring_prep_ftruncate(3)"""
    _RW(sqe, 0, _OP_FTRUNCATE, fd, length, 0, 0, 0, user_data)


def prep_splice(
    sqe: Any,
    fd_in: int,
    off_in: int,
    fd_out: int,
    off_out: int,
    nbytes: int,
    splice_flags: int,
    *,
    user_data: int = 0,
) -> None:
    """splice(2) `nbytes` from `fd_in` to `fd_out`; an offset of -1 means none.

    See: io_uring_prep_splice(3)
    """
    _SPLICE(
        sqe,
        0,
        _OP_SPLICE,
        fd_out,
        off_out & _U64,
        off_in & _U64,
        nbytes,
        splice_flags,
        user_data,
        fd_in,
    )


def prep_tee(
    sqe: Any, fd_in: int, fd_out: int, nbytes: int, splice_flags: int, *, user_data: int = 0
) -> None:
    """tee(2) between two pipes. See: io_uring_prep_tee(3)"""
    _SPLICE(sqe, 0, _OP_TEE, fd_out, 0, 0, nbytes, splice_flags, user_data, fd_in)


# --- paths ------------------------------------------------------------------------------


def prep_openat(
    sqe: Any, dfd: int, path: bytes | int, flags: int, mode: int, *, user_data: int = 0
) -> None:
    """openat(2); `path` is bytes kept alive until completion. See: io_uring_prep_openat(3)"""
    _RW(sqe, 0, _OP_OPENAT, dfd, 0, _path_addr(path), mode, flags, user_data)


def prep_openat_direct(
    sqe: Any,
    dfd: int,
    path: bytes | int,
    flags: int,
    mode: int,
    file_index: int,
    *,
    user_data: int = 0,
) -> None:
    """openat(2) into fixed-file slot `file_index` (or `FILE_INDEX_ALLOC`).

    See: io_uring_prep_openat_direct(3)
    """
    addr, slot = _path_addr(path), _target_slot(file_index)
    _IO_FILE(sqe, 0, _OP_OPENAT, 0, dfd, 0, addr, mode, flags, user_data, slot)


def prep_statx(
    sqe: Any,
    dfd: int,
    path: bytes | int,
    flags: int,
    mask: int,
    statxbuf: Address,
    *,
    user_data: int = 0,
) -> None:
    """statx(2) into `statxbuf` (256 bytes). See: io_uring_prep_statx(3)"""
    _RW(sqe, 0, _OP_STATX, dfd, _addr(statxbuf, True), _path_addr(path), mask, flags, user_data)


def prep_unlinkat(sqe: Any, dfd: int, path: bytes | int, flags: int, *, user_data: int = 0) -> None:
    """unlinkat(2). See: io_uring_prep_unlinkat(3)"""
    _RW(sqe, 0, _OP_UNLINKAT, dfd, 0, _path_addr(path), 0, flags, user_data)


def prep_mkdirat(sqe: Any, dfd: int, path: bytes | int, mode: int, *, user_data: int = 0) -> None:
    """mkdirat(2). See: io_uring_prep_mkdirat(3)"""
    _RW(sqe, 0, _OP_MKDIRAT, dfd, 0, _path_addr(path), mode, 0, user_data)


def prep_renameat(
    sqe: Any,
    olddfd: int,
    oldpath: bytes | int,
    newdfd: int,
    newpath: bytes | int,
    flags: int,
    *,
    user_data: int = 0,
) -> None:
    """renameat2(2); the new path travels in `off`. See: io_uring_prep_renameat(3)"""
    _RW(
        sqe,
        0,
        _OP_RENAMEAT,
        olddfd,
        _path_addr(newpath),
        _path_addr(oldpath),
        newdfd & _U32,
        flags,
        user_data,
    )


def prep_close(sqe: Any, fd: int, *, user_data: int = 0) -> None:
    """close(2) `fd`. See: io_uring_prep_close(3)"""
    _RW(sqe, 0, _OP_CLOSE, fd, 0, 0, 0, 0, user_data)


def prep_close_direct(sqe: Any, file_index: int, *, user_data: int = 0) -> None:
    """Close fixed-file slot `file_index`. See: io_uring_prep_close_direct(3)"""
    _IO_FILE(sqe, 0, _OP_CLOSE, 0, 0, 0, 0, 0, 0, user_data, file_index + 1)


def prep_files_update(
    sqe: Any, fds: Address, nr_fds: int, offset: int, *, user_data: int = 0
) -> None:
    """Update `nr_fds` fixed-file slots from `offset` with the s32 array `fds`.

    See: io_uring_prep_files_update(3)
    """
    _RW(sqe, 0, _OP_FILES_UPDATE, -1, offset, _addr(fds), nr_fds, 0, user_data)


def prep_fixed_fd_install(sqe: Any, fd: int, flags: int = 0, *, user_data: int = 0) -> None:
    """Install fixed file `fd` as a normal fd, returned in res.

    See: io_uring_prep_fixed_fd_install(3)
    """
    _INSTALL(sqe, 0, _OP_FIXED_FD_INSTALL, _SQEFLAG_FIXED_FILE, fd, flags, user_data)


# --- sockets ----------------------------------------------------------------------------


def prep_socket(
    sqe: Any, domain: int, type: int, protocol: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """socket(2). See: io_uring_prep_socket(3)"""
    _RW(sqe, 0, _OP_SOCKET, domain, type, 0, protocol, flags, user_data)


def prep_socket_direct(
    sqe: Any,
    domain: int,
    type: int,
    protocol: int,
    file_index: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """socket(2) into fixed-file slot `file_index` (or `FILE_INDEX_ALLOC`).

    See: io_uring_prep_socket_direct(3)
    """
    slot = _target_slot(file_index)
    _IO_FILE(sqe, 0, _OP_SOCKET, 0, domain, type, 0, protocol, flags, user_data, slot)


def prep_connect(sqe: Any, fd: int, addr: Address, addrlen: int, *, user_data: int = 0) -> None:
    """connect(2) to the sockaddr at `addr`. See: io_uring_prep_connect(3)"""
    _RW(sqe, 0, _OP_CONNECT, fd, addrlen, _addr(addr), 0, 0, user_data)


def prep_bind(sqe: Any, fd: int, addr: Address, addrlen: int, *, user_data: int = 0) -> None:
    """bind(2) (Linux 6.11+). See: io_uring_prep_bind(3)"""
    _RW(sqe, 0, _OP_BIND, fd, addrlen, _addr(addr), 0, 0, user_data)


def prep_listen(sqe: Any, fd: int, backlog: int, *, user_data: int = 0) -> None:
    """listen(2) (Linux 6.11+). See: io_uring_prep_listen(3)"""
    _RW(sqe, 0, _OP_LISTEN, fd, 0, 0, backlog & _U32, 0, user_data)


def prep_accept(
    sqe: Any,
    fd: int,
    addr: Address | None,
    addrlen: Address | None,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """accept4(2); `addr`/`addrlen` receive the peer (a socklen_t holding the buffer size).

    See: io_uring_prep_accept(3)
    """
    _IO(sqe, 0, _OP_ACCEPT, 0, fd, _addr(addrlen, True), _addr(addr, True), 0, flags, user_data)


def prep_accept_direct(
    sqe: Any,
    fd: int,
    addr: Address | None,
    addrlen: Address | None,
    flags: int,
    file_index: int,
    *,
    user_data: int = 0,
) -> None:
    """accept4(2) into fixed-file slot `file_index` (or `FILE_INDEX_ALLOC`).

    See: io_uring_prep_accept_direct(3)
    """
    ap, lp, slot = _addr(addr, True), _addr(addrlen, True), _target_slot(file_index)
    _IO_FILE(sqe, 0, _OP_ACCEPT, 0, fd, lp, ap, 0, flags, user_data, slot)


def prep_accept_multishot(
    sqe: Any,
    fd: int,
    addr: Address | None,
    addrlen: Address | None,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Accept every incoming connection, one CQE each, while `CqeFlag.MORE` is set.

    See: io_uring_prep_multishot_accept(3)
    """
    ap, lp = _addr(addr, True), _addr(addrlen, True)
    _IO(sqe, 0, _OP_ACCEPT, _ACCEPTFLAG_MULTISHOT, fd, lp, ap, 0, flags, user_data)


def prep_accept_direct_multishot(
    sqe: Any,
    fd: int,
    addr: Address | None,
    addrlen: Address | None,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Multishot accept, each connection into a free fixed-file slot (res is the slot).

    See: io_uring_prep_multishot_accept_direct(3)
    """
    ap, lp = _addr(addr, True), _addr(addrlen, True)
    _IO_FILE(
        sqe, 0, _OP_ACCEPT, _ACCEPTFLAG_MULTISHOT, fd, lp, ap, 0, flags, user_data, FILE_INDEX_ALLOC
    )


def prep_shutdown(sqe: Any, fd: int, how: int, *, user_data: int = 0) -> None:
    """shutdown(2). See: io_uring_prep_shutdown(3)"""
    _RW(sqe, 0, _OP_SHUTDOWN, fd, 0, 0, how, 0, user_data)


def prep_recv(
    sqe: Any, sockfd: int, buf: Address, length: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """recv(2) up to `length` bytes into `buf`. See: io_uring_prep_recv(3)"""
    _IO(sqe, 0, _OP_RECV, 0, sockfd, 0, _addr(buf, True), length, flags, user_data)


def prep_recv_multishot(
    sqe: Any, sockfd: int, buf: Address | None, length: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """Receive repeatedly into provided buffers (set `_SQEFLAG_BUFFER_SELECT` and the group).

    See: io_uring_prep_recv_multishot(3)
    """
    addr = _addr(buf, True)
    _IO(sqe, 0, _OP_RECV, _RECVSENDFLAG_RECV_MULTISHOT, sockfd, 0, addr, length, flags, user_data)


def prep_send(
    sqe: Any, sockfd: int, buf: Address, length: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """send(2) `length` bytes of `buf`. See: io_uring_prep_send(3)"""
    # The hot path of every server response: a bytes object's address inline, no call.
    if type(buf) is bytes and _BYTES_OFFSET is not None:
        addr = id(buf) + _BYTES_OFFSET
    else:
        addr = buffer_address(buf)
    _IO(sqe, 0, _OP_SEND, 0, sockfd, 0, addr, length, flags, user_data)


def prep_send_zc(
    sqe: Any,
    sockfd: int,
    buf: Address,
    length: int,
    flags: int = 0,
    zc_flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Zero-copy send: a result CQE, then a `CqeFlag.NOTIF` CQE once `buf` may be reused.

    See: io_uring_prep_send_zc(3)
    """
    _IO(sqe, 0, _OP_SEND_ZC, zc_flags, sockfd, 0, _addr(buf), length, flags, user_data)


def prep_send_fixed_zc(
    sqe: Any,
    sockfd: int,
    buf: Address,
    length: int,
    flags: int,
    zc_flags: int,
    buf_index: int,
    *,
    user_data: int = 0,
) -> None:
    """Zero-copy send from registered buffer `buf_index`.

    See: io_uring_prep_send_zc_fixed(3)
    """
    prio = zc_flags | _RECVSENDFLAG_FIXED_BUF
    _IO_BUF(sqe, 0, _OP_SEND_ZC, prio, sockfd, _addr(buf), length, flags, user_data, buf_index)


def prep_recvmsg(sqe: Any, fd: int, msg: Address, flags: int = 0, *, user_data: int = 0) -> None:
    """recvmsg(2) into the `struct msghdr` at `msg`. See: io_uring_prep_recvmsg(3)"""
    _IO(sqe, 0, _OP_RECVMSG, 0, fd, 0, _addr(msg, True), 1, flags, user_data)


def prep_recvmsg_multishot(
    sqe: Any, fd: int, msg: Address, flags: int = 0, *, user_data: int = 0
) -> None:
    """Multishot recvmsg into provided buffers. See: io_uring_prep_recvmsg_multishot(3)"""
    prio = _RECVSENDFLAG_RECV_MULTISHOT
    _IO(sqe, 0, _OP_RECVMSG, prio, fd, 0, _addr(msg, True), 1, flags, user_data)


def prep_sendmsg(sqe: Any, fd: int, msg: Address, flags: int = 0, *, user_data: int = 0) -> None:
    """sendmsg(2) of the `struct msghdr` at `msg`. See: io_uring_prep_sendmsg(3)"""
    _IO(sqe, 0, _OP_SENDMSG, 0, fd, 0, _addr(msg), 1, flags, user_data)


def prep_sendmsg_zc(sqe: Any, fd: int, msg: Address, flags: int = 0, *, user_data: int = 0) -> None:
    """Zero-copy sendmsg. See: io_uring_prep_sendmsg_zc(3)"""
    _IO(sqe, 0, _OP_SENDMSG_ZC, 0, fd, 0, _addr(msg), 1, flags, user_data)


# --- polling, timeouts, cancellation ------------------------------------------------------


def prep_poll_add(sqe: Any, fd: int, poll_mask: int, *, user_data: int = 0) -> None:
    """One-shot poll for `poll_mask` (POLLIN, ...). See: io_uring_prep_poll_add(3)"""
    _RW(sqe, 0, _OP_POLL_ADD, fd, 0, 0, 0, poll_mask, user_data)


def prep_poll_multishot(sqe: Any, fd: int, poll_mask: int, *, user_data: int = 0) -> None:
    """Poll that posts a CQE per event while `CqeFlag.MORE` is set.

    See: io_uring_prep_poll_multishot(3)
    """
    _RW(sqe, 0, _OP_POLL_ADD, fd, 0, 0, _POLLFLAG_ADD_MULTI, poll_mask, user_data)


def prep_poll_remove(sqe: Any, target_user_data: int, *, user_data: int = 0) -> None:
    """Remove the poll whose SQE carried `target_user_data`.

    See: io_uring_prep_poll_remove(3)
    """
    _RW(sqe, 0, _OP_POLL_REMOVE, -1, 0, target_user_data, 0, 0, user_data)


def prep_poll_update(
    sqe: Any,
    old_user_data: int,
    new_user_data: int,
    poll_mask: int,
    flags: int,
    *,
    user_data: int = 0,
) -> None:
    """Update a poll's mask and/or user_data (`PollFlag.UPDATE_*` in `flags`).

    See: io_uring_prep_poll_update(3)
    """
    _RW(sqe, 0, _OP_POLL_REMOVE, -1, new_user_data, old_user_data, flags, poll_mask, user_data)


def prep_timeout(
    sqe: Any, ts: KernelTimespec | int, count: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """Complete after `ts` or after `count` other completions (-ETIME when the time ran out).

    See: io_uring_prep_timeout(3)
    """
    _RW(sqe, 0, _OP_TIMEOUT, -1, count, _ts_addr(ts), 1, flags, user_data)


def prep_timeout_remove(
    sqe: Any, target_user_data: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """Cancel the timeout whose SQE carried `target_user_data`.

    See: io_uring_prep_timeout_remove(3)
    """
    _RW(sqe, 0, _OP_TIMEOUT_REMOVE, -1, 0, target_user_data, 0, flags, user_data)


def prep_timeout_update(
    sqe: Any,
    ts: KernelTimespec | int,
    target_user_data: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Re-arm the timeout whose SQE carried `target_user_data` with `ts`.

    See: io_uring_prep_timeout_update(3)
    """
    flags |= _TIMEOUTFLAG_UPDATE
    _RW(sqe, 0, _OP_TIMEOUT_REMOVE, -1, _ts_addr(ts), target_user_data, 0, flags, user_data)


def prep_link_timeout(
    sqe: Any, ts: KernelTimespec | int, flags: int = 0, *, user_data: int = 0
) -> None:
    """Cancel the SQE linked before this one if it has not completed within `ts`.

    See: io_uring_prep_link_timeout(3)
    """
    _RW(sqe, 0, _OP_LINK_TIMEOUT, -1, 0, _ts_addr(ts), 1, flags, user_data)


def prep_cancel64(sqe: Any, target_user_data: int, flags: int = 0, *, user_data: int = 0) -> None:
    """Cancel the operation(s) whose SQE carried `target_user_data` (`AsyncCancelFlag`s).

    See: io_uring_prep_cancel64(3)
    """
    _RW(sqe, 0, _OP_ASYNC_CANCEL, -1, 0, target_user_data, 0, flags, user_data)


def prep_cancel_fd(sqe: Any, fd: int, flags: int = 0, *, user_data: int = 0) -> None:
    """Cancel operations on `fd`. See: io_uring_prep_cancel_fd(3)"""
    _RW(sqe, 0, _OP_ASYNC_CANCEL, fd, 0, 0, 0, flags | AsyncCancelFlag.FD, user_data)


# --- buffers, rings, futexes, processes ------------------------------------------------


def prep_provide_buffers(
    sqe: Any, addr: Address, length: int, nr: int, bgid: int, bid: int, *, user_data: int = 0
) -> None:
    """Give `nr` buffers of `length` bytes from `addr` to group `bgid`, ids from `bid`.

    See: io_uring_prep_provide_buffers(3)
    """
    _BUFS(sqe, 0, _OP_PROVIDE_BUFFERS, nr, bid, _addr(addr, True), length, user_data, bgid)


def prep_remove_buffers(sqe: Any, nr: int, bgid: int, *, user_data: int = 0) -> None:
    """Take up to `nr` buffers back from group `bgid`. See: io_uring_prep_remove_buffers(3)"""
    _BUFS(sqe, 0, _OP_REMOVE_BUFFERS, nr, 0, 0, 0, user_data, bgid)


def prep_msg_ring(
    sqe: Any, fd: int, length: int, data: int, flags: int = 0, *, user_data: int = 0
) -> None:
    """Post a CQE (res=`length`, user_data=`data`) on the ring `fd`.

    See: io_uring_prep_msg_ring(3)
    """
    _MSG_RING(sqe, 0, _OP_MSG_RING, fd, data, 0, length, flags, user_data, 0, 0)


def prep_msg_ring_cqe_flags(
    sqe: Any, fd: int, length: int, data: int, flags: int, cqe_flags: int, *, user_data: int = 0
) -> None:
    """`prep_msg_ring` that also sets the target CQE's flags.

    See: io_uring_prep_msg_ring_cqe_flags(3)
    """
    flags |= _MSGRINGFLAG_FLAGS_PASS
    _MSG_RING(sqe, 0, _OP_MSG_RING, fd, data, 0, length, flags, user_data, cqe_flags, 0)


def prep_msg_ring_fd(
    sqe: Any,
    fd: int,
    source_fd: int,
    target_fd: int,
    data: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """Send fixed file `source_fd` into slot `target_fd` of the ring `fd`.

    See: io_uring_prep_msg_ring_fd(3)
    """
    slot = _target_slot(target_fd)
    _MSG_RING(sqe, 0, _OP_MSG_RING, fd, data, MSG_SEND_FD, 0, flags, user_data, slot, source_fd)


def prep_futex_wait(
    sqe: Any,
    futex: Address,
    val: int,
    mask: int,
    futex_flags: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """futex2 wait while `*futex == val`. See: io_uring_prep_futex_wait(3)"""
    _FUTEX(sqe, 0, _OP_FUTEX_WAIT, futex_flags, val, _addr(futex), flags, user_data, mask)


def prep_futex_wake(
    sqe: Any,
    futex: Address,
    val: int,
    mask: int,
    futex_flags: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """futex2 wake of up to `val` waiters. See: io_uring_prep_futex_wake(3)"""
    _FUTEX(sqe, 0, _OP_FUTEX_WAKE, futex_flags, val, _addr(futex), flags, user_data, mask)


def prep_waitid(
    sqe: Any,
    idtype: int,
    id: int,
    infop: Address | None,
    options: int,
    flags: int = 0,
    *,
    user_data: int = 0,
) -> None:
    """waitid(2) into the `siginfo_t` at `infop`. See: io_uring_prep_waitid(3)"""
    ip = _addr(infop, True)
    _WAITID(sqe, 0, _OP_WAITID, id, ip, idtype, flags, user_data, options)
