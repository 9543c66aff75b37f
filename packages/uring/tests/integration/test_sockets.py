"""Sockets: send/recv on a socketpair, accept/connect/socket on 127.0.0.1 and ::1.

A failed operation is data: its CQE carries -errno (EPIPE, ECONNREFUSED), never an
exception.
"""

from __future__ import annotations

import ctypes
import errno
import os
import socket

import pytest

from uring import (
    SOCKADDR_STORAGE_SIZE,
    Ring,
    parse_sockaddr,
    prep_accept,
    prep_connect,
    prep_recv,
    prep_send,
    prep_socket,
    sockaddr,
    sqe_set_data64,
)

pytestmark = pytest.mark.integration


def test_send_and_recv_on_a_socketpair(ring: Ring, sock_pair, reap_until) -> None:
    a, b = sock_pair
    sqe = ring.get_sqe()
    prep_send(sqe, a.fileno(), b"ping", 4)
    sqe_set_data64(sqe, 1)
    assert reap_until(ring, 1) == [(1, 4, 0)]
    assert b.recv(16) == b"ping"

    b.sendall(b"pong")
    buf = bytearray(16)
    sqe = ring.get_sqe()
    prep_recv(sqe, a.fileno(), buf, len(buf))
    sqe_set_data64(sqe, 2)
    assert reap_until(ring, 1) == [(2, 4, 0)]
    assert buf[:4] == b"pong"


def test_recv_waits_for_data_then_completes(ring: Ring, sock_pair, reap_until, reap_quiet):
    a, b = sock_pair
    buf = bytearray(64)
    sqe = ring.get_sqe()
    prep_recv(sqe, a.fileno(), buf, len(buf))
    sqe_set_data64(sqe, 7)
    assert reap_quiet(ring) == []  # no data yet: the recv stays in flight
    b.sendall(b"late data")
    assert reap_until(ring, 1) == [(7, 9, 0)]
    assert buf[:9] == b"late data"


def test_recv_after_the_peer_closed_is_zero(ring: Ring, sock_pair, reap_until) -> None:
    a, b = sock_pair
    b.close()
    buf = bytearray(8)
    prep_recv(ring.get_sqe(), a.fileno(), buf, len(buf))
    [(_, res, _)] = reap_until(ring, 1)
    assert res == 0


def test_send_to_a_closed_peer_is_epipe_as_res(ring: Ring, sock_pair, reap_until) -> None:
    a, b = sock_pair
    b.close()
    sqe = ring.get_sqe()
    prep_send(sqe, a.fileno(), b"nobody", 6, socket.MSG_NOSIGNAL)
    sqe_set_data64(sqe, 3)
    assert reap_until(ring, 1) == [(3, -errno.EPIPE, 0)]


def test_send_and_recv_in_one_submit(ring: Ring, sock_pair, reap_until, by_user_data) -> None:
    a, b = sock_pair
    buf = bytearray(32)
    sqe = ring.get_sqe()
    prep_recv(sqe, b.fileno(), buf, len(buf))
    sqe_set_data64(sqe, 1)
    sqe = ring.get_sqe()
    prep_send(sqe, a.fileno(), b"both ways", 9)
    sqe_set_data64(sqe, 2)
    assert by_user_data(reap_until(ring, 2)) == {1: (9, 0), 2: (9, 0)}
    assert buf[:9] == b"both ways"


def accept_and_check(ring: Ring, listener: socket.socket, reap_until, reap_quiet) -> None:
    """Accept one client through the ring; check the address it reports and the socket."""
    addr = bytearray(SOCKADDR_STORAGE_SIZE)
    addrlen = (ctypes.c_uint32 * 1)(SOCKADDR_STORAGE_SIZE)
    sqe = ring.get_sqe()
    prep_accept(sqe, listener.fileno(), addr, addrlen, socket.SOCK_CLOEXEC)
    sqe_set_data64(sqe, 11)
    assert reap_quiet(ring) == []  # nobody connected yet
    with socket.create_connection(listener.getsockname()[:2]) as client:
        [(user_data, fd, _)] = reap_until(ring, 1)
        assert user_data == 11
        assert fd >= 0, os.strerror(-fd)
        with socket.socket(fileno=fd) as conn:
            assert not os.get_inheritable(fd)  # SOCK_CLOEXEC reached accept4
            expected_len = 16 if listener.family == socket.AF_INET else 28
            assert addrlen[0] == expected_len
            assert parse_sockaddr(addr[: addrlen[0]]) == client.getsockname()[:2]
            assert conn.getpeername()[:2] == client.getsockname()[:2]
            client.sendall(b"hi")
            assert conn.recv(8) == b"hi"
            conn.sendall(b"yo")
            assert client.recv(8) == b"yo"


def test_accept_reports_the_client_address(ring: Ring, listener, reap_until, reap_quiet):
    accept_and_check(ring, listener, reap_until, reap_quiet)


def test_accept_on_ipv6_loopback(ring: Ring, listener6, reap_until, reap_quiet) -> None:
    accept_and_check(ring, listener6, reap_until, reap_quiet)


def connect_and_check(ring: Ring, listener: socket.socket, reap_until) -> None:
    host, port = listener.getsockname()[:2]
    with socket.socket(listener.family, socket.SOCK_STREAM) as client:
        client.setblocking(False)
        target = sockaddr(host, port)
        sqe = ring.get_sqe()
        prep_connect(sqe, client.fileno(), target, len(target))
        sqe_set_data64(sqe, 21)
        assert reap_until(ring, 1) == [(21, 0, 0)]
        conn, peer = listener.accept()
        with conn:
            assert peer[:2] == client.getsockname()[:2]
            conn.sendall(b"connected")
            client.setblocking(True)
            assert client.recv(16) == b"connected"


def test_connect_from_a_non_blocking_socket(ring: Ring, listener, reap_until) -> None:
    connect_and_check(ring, listener, reap_until)


def test_connect_on_ipv6_loopback(ring: Ring, listener6, reap_until) -> None:
    connect_and_check(ring, listener6, reap_until)


def test_connect_to_a_closed_port_is_econnrefused(ring: Ring, reap_until) -> None:
    # A bound socket that does not listen holds the port, so nothing else can take it.
    with socket.socket() as holder, socket.socket() as client:
        holder.bind(("127.0.0.1", 0))
        target = sockaddr("127.0.0.1", holder.getsockname()[1])
        client.setblocking(False)
        prep_connect(ring.get_sqe(), client.fileno(), target, len(target))
        [(_, res, _)] = reap_until(ring, 1)
        assert res == -errno.ECONNREFUSED


@pytest.mark.parametrize(
    ("family", "host"), [(socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")]
)
def test_socket_op_creates_a_usable_socket(
    ring: Ring, family: int, host: str, request: pytest.FixtureRequest, reap_until
) -> None:
    listener = request.getfixturevalue("listener" if family == socket.AF_INET else "listener6")
    sqe = ring.get_sqe()
    prep_socket(sqe, family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC, 0)
    sqe_set_data64(sqe, 31)
    [(user_data, fd, _)] = reap_until(ring, 1)
    assert user_data == 31
    assert fd >= 0, os.strerror(-fd)
    with socket.socket(fileno=fd) as s:
        assert s.family == family
        assert s.type == socket.SOCK_STREAM
        assert not os.get_inheritable(fd)
        s.connect((host, listener.getsockname()[1]))
        conn, _ = listener.accept()
        with conn:
            s.sendall(b"made by the ring")
            assert conn.recv(32) == b"made by the ring"


def test_socket_op_with_a_bad_family_is_an_error_res(ring: Ring, reap_until) -> None:
    prep_socket(ring.get_sqe(), 12345, socket.SOCK_STREAM, 0)
    [(_, res, _)] = reap_until(ring, 1)
    assert res in (-errno.EAFNOSUPPORT, -errno.EINVAL)
