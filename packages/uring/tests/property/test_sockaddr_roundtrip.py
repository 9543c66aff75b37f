"""`sockaddr` and `parse_sockaddr` are inverse, and `parse_sockaddr` fails only with ValueError.

Addresses are compared as `ipaddress` objects: the text form of an IPv6 address is not
unique (inet_ntop writes "::ffff:1.2.3.4" where `ipaddress` may write "::ffff:102:304").
"""

from __future__ import annotations

import ipaddress
import socket
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

import uring

PORT = st.integers(0, 65535)
U32 = st.integers(0, 2**32 - 1)


@given(addr=st.ip_addresses(v=4), port=PORT)
def test_ipv4_round_trip(addr: ipaddress.IPv4Address, port: int) -> None:
    encoded = uring.sockaddr(str(addr), port)
    assert encoded == struct.pack("=H", socket.AF_INET) + port.to_bytes(2, "big") + (
        addr.packed + bytes(8)
    )
    host, parsed_port = uring.parse_sockaddr(encoded)
    assert (ipaddress.ip_address(host), parsed_port) == (addr, port)


@given(addr=st.ip_addresses(v=6), port=PORT, flowinfo=U32, scope_id=U32)
def test_ipv6_round_trip(
    addr: ipaddress.IPv6Address, port: int, flowinfo: int, scope_id: int
) -> None:
    encoded = uring.sockaddr(str(addr), port, flowinfo=flowinfo, scope_id=scope_id)
    family, port_be = socket.AF_INET6, port.to_bytes(2, "big")
    assert encoded == struct.pack("=H2sI16sI", family, port_be, flowinfo, addr.packed, scope_id)
    host, parsed_port = uring.parse_sockaddr(encoded)
    assert (ipaddress.ip_address(host), parsed_port) == (addr, port)


@given(addr=st.ip_addresses(), port=PORT, tail=st.binary(max_size=100))
def test_parse_ignores_bytes_after_the_address(
    addr: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int, tail: bytes
) -> None:
    # what a sockaddr_storage holds after accept: the address, then whatever was there
    storage = uring.sockaddr(str(addr), port) + tail
    host, parsed_port = uring.parse_sockaddr(storage)
    assert (ipaddress.ip_address(host), parsed_port) == (addr, port)


@given(port=st.one_of(st.integers(max_value=-1), st.integers(min_value=65536)))
def test_out_of_range_ports_are_a_value_error(port: int) -> None:
    with pytest.raises(ValueError, match="out of range"):
        uring.sockaddr("127.0.0.1", port)


@given(
    host=st.one_of(st.text(max_size=50), st.text(alphabet="0123456789abcdefABCDEF:.%", max_size=45))
)
def test_any_text_host_encodes_or_is_a_value_error(host: str) -> None:
    try:
        encoded = uring.sockaddr(host, 80)
    except ValueError:
        return
    # accepted, so it was a numeric address, and it parses back to the same address
    parsed, _ = uring.parse_sockaddr(encoded)
    assert ipaddress.ip_address(parsed) == ipaddress.ip_address(host)


@given(
    buf=st.one_of(
        st.binary(max_size=140),
        # random tails behind the two families parse_sockaddr knows, to reach its decoders
        st.builds(
            lambda family, tail: struct.pack("=H", family) + tail,
            st.sampled_from([socket.AF_INET, socket.AF_INET6]),
            st.binary(max_size=40),
        ),
    )
)
def test_random_bytes_parse_or_raise_value_error(buf: bytes) -> None:
    try:
        host, port = uring.parse_sockaddr(buf)
    except ValueError:
        return
    assert isinstance(host, str)
    ipaddress.ip_address(host)
    assert 0 <= port <= 65535
