"""`uring._sockaddr`: the bytes are `struct sockaddr_in` / `sockaddr_in6` as <netinet/in.h>
lays them out, and malformed input is a ValueError.

sockaddr_in:  sa_family u16 (host order) | sin_port u16 (network order) | sin_addr 4 | zero 8
sockaddr_in6: sa_family u16 | sin6_port u16 (network) | sin6_flowinfo u32 | sin6_addr 16
              | sin6_scope_id u32
"""

from __future__ import annotations

import socket
import struct

import pytest

import uring

AF_INET, AF_INET6, AF_UNIX = 2, 10, 1  # <bits/socket.h> on Linux


def sockaddr_in(family: int, port_be: bytes, addr: bytes) -> bytes:
    return struct.pack("=H", family) + port_be + addr + bytes(8)


def sockaddr_in6(port_be: bytes, flowinfo: int, addr: bytes, scope_id: int) -> bytes:
    return (
        struct.pack("=H", AF_INET6)
        + port_be
        + struct.pack("=I", flowinfo)
        + addr
        + struct.pack("=I", scope_id)
    )


def test_socket_module_family_numbers_are_linux() -> None:
    assert (socket.AF_INET, socket.AF_INET6, socket.AF_UNIX) == (AF_INET, AF_INET6, AF_UNIX)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8080, sockaddr_in(AF_INET, b"\x1f\x90", b"\x7f\x00\x00\x01")),
        ("0.0.0.0", 0, sockaddr_in(AF_INET, b"\x00\x00", b"\x00\x00\x00\x00")),
        ("255.255.255.255", 65535, sockaddr_in(AF_INET, b"\xff\xff", b"\xff" * 4)),
        ("10.1.2.3", 1, sockaddr_in(AF_INET, b"\x00\x01", b"\x0a\x01\x02\x03")),
    ],
)
def test_ipv4_layout(host: str, port: int, expected: bytes) -> None:
    encoded = uring.sockaddr(host, port)
    assert encoded == expected
    assert len(encoded) == 16  # sizeof(struct sockaddr_in)


@pytest.mark.parametrize(
    ("host", "port", "raw"),
    [
        ("::1", 443, bytes(15) + b"\x01"),
        ("::", 0, bytes(16)),
        ("2001:db8::8a2e:370:7334", 8443, bytes.fromhex("20010db80000000000008a2e03707334")),
        ("::ffff:192.0.2.1", 80, bytes(10) + b"\xff\xff" + b"\xc0\x00\x02\x01"),
    ],
)
def test_ipv6_layout(host: str, port: int, raw: bytes) -> None:
    encoded = uring.sockaddr(host, port)
    assert encoded == sockaddr_in6(port.to_bytes(2, "big"), 0, raw, 0)
    assert len(encoded) == 28  # sizeof(struct sockaddr_in6)


def test_ipv6_flowinfo_and_scope_id_are_host_order() -> None:
    encoded = uring.sockaddr("fe80::1", 9, flowinfo=0x12345, scope_id=3)
    raw = socket.inet_pton(socket.AF_INET6, "fe80::1")
    assert encoded == sockaddr_in6(b"\x00\x09", 0x12345, raw, 3)


def test_an_ipv6_zone_becomes_the_scope_id() -> None:
    raw = socket.inet_pton(socket.AF_INET6, "fe80::1")
    assert uring.sockaddr("fe80::1%7", 53) == sockaddr_in6(b"\x00\x35", 0, raw, 7)
    lo = socket.if_nametoindex("lo")
    assert uring.sockaddr("fe80::1%lo", 53, scope_id=9) == sockaddr_in6(b"\x00\x35", 0, raw, lo)
    assert uring.zone_index("lo") == lo
    assert uring.zone_index("12") == 12


@pytest.mark.parametrize("zone", ["no-such-if0", "", "\u00e9th0", str(1 << 32)])
def test_a_zone_naming_no_interface_is_a_value_error(zone: str) -> None:
    with pytest.raises(ValueError, match="no network interface"):
        uring.sockaddr(f"fe80::1%{zone}", 53)


def test_storage_size_is_sockaddr_storage() -> None:
    assert uring.SOCKADDR_STORAGE_SIZE == 128


@pytest.mark.parametrize(
    "host",
    ["localhost", "", "1.2.3", "256.1.1.1", "1.2.3.4 ", "::g", "1::2::3", "1.2.3.4%lo", "%1"],
)
def test_non_numeric_or_malformed_hosts_are_a_value_error(host: str) -> None:
    with pytest.raises(ValueError, match="not a numeric IPv4 or IPv6 address"):
        uring.sockaddr(host, 80)


@pytest.mark.parametrize("port", [-1, 65536, 2**32])
def test_ports_out_of_range_are_a_value_error(port: int) -> None:
    with pytest.raises(ValueError, match=f"port {port} is out of range"):
        uring.sockaddr("127.0.0.1", port)


# --- parse_sockaddr -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoded", "expected"),
    [
        (sockaddr_in(AF_INET, b"\x1f\x90", b"\x7f\x00\x00\x01"), ("127.0.0.1", 8080)),
        (sockaddr_in6(b"\x01\xbb", 7, bytes(15) + b"\x01", 2), ("::1", 443)),
    ],
)
def test_parse_reads_the_kernel_layout(encoded: bytes, expected: tuple[str, int]) -> None:
    assert uring.parse_sockaddr(encoded) == expected
    assert uring.parse_sockaddr(bytearray(encoded)) == expected
    with memoryview(encoded) as view:
        assert uring.parse_sockaddr(view) == expected


def test_parse_reads_the_front_of_a_sockaddr_storage() -> None:
    # accept fills in a 128-byte sockaddr_storage; the rest of it is left as it was
    storage = bytearray(b"\xee" * uring.SOCKADDR_STORAGE_SIZE)
    encoded = uring.sockaddr("192.0.2.7", 5000)
    storage[: len(encoded)] = encoded
    assert uring.parse_sockaddr(storage) == ("192.0.2.7", 5000)


@pytest.mark.parametrize(
    "buf",
    [
        b"",
        b"\x02",
        sockaddr_in(AF_INET, b"\x00\x50", b"\x7f\x00\x00\x01")[:15],
        sockaddr_in6(b"\x00\x50", 0, bytes(16), 0)[:27],
        struct.pack("=H", AF_UNIX) + b"/tmp/socket\0".ljust(108, b"\0"),
        struct.pack("=H", 0) + bytes(26),  # AF_UNSPEC
    ],
    ids=["empty", "one-byte", "short-inet", "short-inet6", "unix", "unspec"],
)
def test_parse_rejects_short_or_foreign_buffers(buf: bytes) -> None:
    with pytest.raises(ValueError, match="sockaddr"):
        uring.parse_sockaddr(buf)
