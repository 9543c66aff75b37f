"""Socket addresses in the kernel's binary form, for connect, bind and accept SQEs.

`struct sockaddr_in` is family (u16, host order), port (u16, network order), the IPv4
address and 8 bytes of zero; `struct sockaddr_in6` is family, port, flowinfo (u32), the
16-byte address and scope_id (u32). `sockaddr_storage` (128 bytes) holds either, which is
what an accept SQE should be given to fill in.
"""

from __future__ import annotations

import socket
import struct
from typing import Final

SOCKADDR_STORAGE_SIZE: Final = 128
_IN = struct.Struct("=H2s4s8x")
_IN6 = struct.Struct("=H2sI16sI")
_FAMILY = struct.Struct("=H")


def sockaddr(host: str, port: int, *, flowinfo: int = 0, scope_id: int = 0) -> bytes:
    """Encode a numeric IPv4 or IPv6 address and a port as a `struct sockaddr_in(6)`.

    Args:
        host: a numeric address ("127.0.0.1", "::1"); names are not resolved here. An
            IPv6 address may carry its zone ("fe80::1%eth0", "fe80::1%2", RFC 4007 §11):
            an interface name or index, which becomes the scope id.
        port: 0-65535.
        flowinfo / scope_id: the IPv6 fields (a zone in `host` overrides `scope_id`).

    Returns:
        The bytes to pass as `addr` (and their length as `addrlen`).

    Raises:
        ValueError: `host` is not a numeric IPv4 or IPv6 address, names an interface
            that does not exist, or `port` is out of range.
    """
    if not 0 <= port <= 0xFFFF:
        raise ValueError(f"port {port} is out of range 0-65535")
    packed_port = port.to_bytes(2, "big")
    try:
        return _IN.pack(socket.AF_INET, packed_port, socket.inet_pton(socket.AF_INET, host))
    except OSError:
        pass
    address, percent, zone = host.partition("%")
    try:
        raw = socket.inet_pton(socket.AF_INET6, address)
    except OSError:
        raise ValueError(f"{host!r} is not a numeric IPv4 or IPv6 address") from None
    if percent:
        scope_id = zone_index(zone)
    return _IN6.pack(socket.AF_INET6, packed_port, flowinfo, raw, scope_id)


def zone_index(zone: str) -> int:
    """The interface index an IPv6 zone names: "eth0" (its index), or "2" as it is.

    Raises:
        ValueError: no interface has that name, or the zone is empty.
    """
    if zone.isascii() and zone.isdigit():
        index = int(zone)
        if index > 0xFFFFFFFF:  # sin6_scope_id is 32 bits
            raise ValueError(f"no network interface {zone!r} for an IPv6 zone")
        return index
    try:
        return socket.if_nametoindex(zone)
    except (OSError, ValueError):
        raise ValueError(f"no network interface {zone!r} for an IPv6 zone") from None


def parse_sockaddr(buf: bytes | bytearray | memoryview) -> tuple[str, int]:
    """Decode a `struct sockaddr_in(6)` (as accept fills in) into `(host, port)`.

    Raises:
        ValueError: the family is neither AF_INET nor AF_INET6, or `buf` is too short.
    """
    if len(buf) < _FAMILY.size:
        raise ValueError(f"sockaddr of {len(buf)} bytes is too short")
    family = _FAMILY.unpack_from(buf)[0]
    if family == socket.AF_INET and len(buf) >= _IN.size:
        _, port, raw4 = _IN.unpack_from(buf)
        return socket.inet_ntop(socket.AF_INET, raw4), int.from_bytes(port, "big")
    if family == socket.AF_INET6 and len(buf) >= _IN6.size:
        _, port, _, raw6, _ = _IN6.unpack_from(buf)
        return socket.inet_ntop(socket.AF_INET6, raw6), int.from_bytes(port, "big")
    raise ValueError(f"unsupported sockaddr family {family} in {len(buf)} bytes")
