"""`HostLookup`: from a URL's host to the addresses to connect to.

The seam between the HTTP client and name resolution, in this order:

1. a numeric IPv4 or IPv6 literal is used as it is;
2. a name in the hosts file (`/etc/hosts`, read once when the client starts) gives its
   addresses, IPv4 first, in file order; "localhost" and names under ".localhost" that the
   file does not list give 127.0.0.1 and ::1 (RFC 6761 §6.3: they are always loopback);
3. any other name goes to the `resolver` given to the client: any object with
   `resolve_on_loop(name)`, a fiber body that runs on the client's loop (yielding sws_core
   ops) and returns a list of address strings, raising an `OSError` (sws_client's
   `DnsError`s are) when the name does not resolve;
4. without a resolver, `socket.getaddrinfo` runs on the client loop's worker thread, so
   the loop never blocks on it.

The addresses are tried in order by the client, the next one when a connect fails.
"""

from __future__ import annotations

import socket
from collections.abc import Generator
from typing import Any, Final, Protocol

from sws_client._errors import NameResolutionError
from sws_client._resolvconf import Hosts
from sws_client._url import is_ip_literal
from sws_core import ClosedResourceError, Op, to_worker

__all__ = ["HostLookup", "Resolver"]

_LOOPBACK: Final = ("127.0.0.1", "::1")


class Resolver(Protocol):
    """What the client needs of a DNS resolver (sws_client's `DnsResolver` has it)."""

    def resolve_on_loop(self, name: str) -> Generator[Op, Any, list[str]]:
        """A fiber body, run on the client's loop, that returns `name`'s addresses.

        Raises:
            OSError: the name does not resolve (a `DnsError`, or any other `OSError`).
        """
        ...


class HostLookup:
    """Addresses for host names, by the rules in the module docstring.

    Args:
        hosts: the hosts-file table.
        resolver: the DNS resolver for other names, or None for getaddrinfo on a worker.
    """

    __slots__ = ("hosts", "resolver")

    def __init__(self, hosts: Hosts, resolver: Resolver | None) -> None:
        self.hosts = hosts
        self.resolver = resolver

    def known(self, host: str) -> list[str] | None:
        """The addresses known without asking anyone (rules 1 and 2), or None."""
        if is_ip_literal(host):
            return [host]
        entry = self.hosts.lookup(host)
        if entry is not None and (entry.ipv4 or entry.ipv6):
            return [*entry.ipv4, *entry.ipv6]
        name = host.lower().removesuffix(".")
        if name == "localhost" or name.endswith(".localhost"):
            return list(_LOOPBACK)
        return None

    def resolve(self, host: str) -> Generator[Op, Any, list[str]]:
        """A fiber body returning `host`'s addresses (rules 3 and 4).

        Raises:
            NameResolutionError: the name does not resolve, or resolves to nothing.
        """
        try:
            if self.resolver is not None:
                addresses = list((yield from self.resolver.resolve_on_loop(host)))
            else:
                infos = yield from to_worker(socket.getaddrinfo, host, None, 0, socket.SOCK_STREAM)
                addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        except (OSError, ValueError, ClosedResourceError) as exc:
            # socket.gaierror and sws_client's DnsError are OSErrors; a name DNS cannot
            # carry (an empty or 64-byte label) is a ValueError; a closed shared resolver
            # refuses with ClosedResourceError.
            raise NameResolutionError(f"cannot resolve host {host!r}: {exc}") from exc
        if not addresses:
            raise NameResolutionError(f"host {host!r} resolved to no address")
        return addresses

    def __repr__(self) -> str:
        how = type(self.resolver).__name__ if self.resolver is not None else "getaddrinfo"
        return f"<HostLookup hosts={len(self.hosts)} resolver={how}>"
