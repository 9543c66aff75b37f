"""Resolver configuration: /etc/resolv.conf and /etc/hosts, parsed from text.

Rules that hold in this module:

- Parsing is pure: `parse_resolv_conf` and `parse_hosts` take the file's text and never raise
  for its content. A line they cannot use is skipped, as glibc skips it, so a broken line
  cannot take name resolution down with it. Only `load_*` touch the file system.
- resolv.conf(5) as glibc reads it: at most 3 `nameserver` lines count (MAXNS), an address
  that does not parse is skipped and does not count; `search` and `domain` replace each
  other, the last one wins; `options` accumulate; out-of-range option values are clamped to
  glibc's bounds (ndots <= 15, timeout <= 30, attempts <= 5).
- Leniency beyond glibc, for what administrators write: keywords may be indented, fields are
  split on any whitespace (tabs, CR of CRLF files), and `#` or `;` starts a comment anywhere
  on a line, not only in the first column (glibc would take `# comment` after a search list
  as two more search domains, which can only produce junk queries).
- Not read, being sans-IO: the `RES_OPTIONS` and `LOCALDOMAIN` environment variables, and
  glibc's fallback of a search domain taken from gethostname(2). A caller who wants them
  builds the `ResolvConf` it needs with `dataclasses.replace`.
- hosts(5): `address canonical_name [aliases...]`, `#` to the end of a line is a comment;
  names match case-insensitively and without regard to one trailing dot; a name on several
  lines collects the addresses of all of them, in file order, without duplicates.
"""

from __future__ import annotations

import errno
import ipaddress
from dataclasses import dataclass, field

__all__ = [
    "DEFAULT_MAX_FILE_BYTES",
    "DEFAULT_PORT",
    "Hosts",
    "HostsEntry",
    "ResolvConf",
    "load_hosts",
    "load_resolv_conf",
    "parse_hosts",
    "parse_resolv_conf",
]

DEFAULT_PORT = 53  # RFC 1035 §4.2
# The nameserver used when resolv.conf names none: resolv.conf(5), "the default is to use
# the name server on the local machine".
DEFAULT_NAMESERVERS: tuple[tuple[str, int], ...] = (("127.0.0.1", DEFAULT_PORT),)
# - glibc resolv.h: MAXNS 3; musl: MAXNS 3.
MAX_NAMESERVERS = 3
# - Kubernetes: 32 search domains (MaxDNSSearchPaths); glibc >= 2.26 has no limit, older
#   glibc kept 6.
MAX_SEARCH_DOMAINS = 32
DEFAULT_NDOTS = 1  # resolv.conf(5)
MAX_NDOTS = 15  # glibc RES_MAXNDOTS
DEFAULT_TIMEOUT_S = 5.0  # resolv.conf(5), glibc RES_TIMEOUT
MAX_TIMEOUT_S = 30.0  # glibc RES_MAXRETRANS
DEFAULT_ATTEMPTS = 2  # resolv.conf(5), glibc RES_DFLRETRY
MAX_ATTEMPTS = 5  # glibc RES_MAXRETRY
# Bytes read from a configuration file at most. Blocklist hosts files run to a few MiB
# (some 200k lines); a file beyond this is an error, not something to cut silently.
DEFAULT_MAX_FILE_BYTES = 64 * 1024 * 1024

Nameserver = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ResolvConf:
    """What the stub resolver needs from resolv.conf(5).

    Attributes:
        nameservers: (address, port) pairs to ask, in order; IPv6 addresses may carry a
            scope (`fe80::1%eth0`).
        search: domains appended to relative names, in order (see `candidate_names`).
        ndots: a name with at least this many dots is tried as given before the search list.
        timeout_s: how long to wait for one answer before the next try.
        attempts: how many rounds through the nameservers before giving up.
        rotate: spread load by starting each lookup at a different nameserver.

    Raises:
        ValueError: a field outside the bounds glibc keeps (see the module constants).
    """

    nameservers: tuple[Nameserver, ...] = DEFAULT_NAMESERVERS
    search: tuple[str, ...] = ()
    ndots: int = DEFAULT_NDOTS
    timeout_s: float = DEFAULT_TIMEOUT_S
    attempts: int = DEFAULT_ATTEMPTS
    rotate: bool = False

    def __post_init__(self) -> None:
        if not 1 <= len(self.nameservers) <= MAX_NAMESERVERS:
            n = len(self.nameservers)
            raise ValueError(f"{n} nameservers, expected 1 to {MAX_NAMESERVERS}")
        if len(self.search) > MAX_SEARCH_DOMAINS:
            n = len(self.search)
            raise ValueError(f"{n} search domains exceed the limit of {MAX_SEARCH_DOMAINS}")
        if not 0 <= self.ndots <= MAX_NDOTS:
            raise ValueError(f"ndots {self.ndots} is outside 0..{MAX_NDOTS}")
        if not 0 < self.timeout_s <= MAX_TIMEOUT_S:
            raise ValueError(f"timeout_s {self.timeout_s} is outside (0, {MAX_TIMEOUT_S}]")
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            raise ValueError(f"attempts {self.attempts} is outside 1..{MAX_ATTEMPTS}")


def _fields(line: str) -> list[str]:
    """Return the whitespace-separated fields of `line` before any `#` or `;` comment."""
    for mark in "#;":
        line = line.partition(mark)[0]
    return line.split()


def _ip(text: str) -> str | None:
    """Return `text` as a normalized IP address, or None when it is not one."""
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def _option_int(value: str, low: int, high: int) -> int | None:
    """Return `value` as an int clamped to [low, high], or None when it is not a number."""
    if not value.isascii() or not value.isdigit():
        return None
    return max(low, min(high, int(value)))


def parse_resolv_conf(text: str) -> ResolvConf:
    """Parse the text of a resolv.conf(5) file.

    Args:
        text: the file's content.

    Returns:
        The configuration; the defaults of resolv.conf(5) for whatever the text leaves out,
        127.0.0.1 port 53 when it names no usable nameserver.
    """
    nameservers: list[Nameserver] = []
    search: list[str] = []
    ndots, timeout_s, attempts, rotate = DEFAULT_NDOTS, DEFAULT_TIMEOUT_S, DEFAULT_ATTEMPTS, False
    for line in text.splitlines():
        fields = _fields(line)
        if len(fields) < 2:
            continue  # blank, comment, or a keyword with no value: glibc ignores those too
        keyword, values = fields[0], fields[1:]
        if keyword == "nameserver":
            address = _ip(values[0])
            if address is not None and len(nameservers) < MAX_NAMESERVERS:
                nameservers.append((address, DEFAULT_PORT))
        elif keyword == "domain":
            search = _domains(values[:1])
        elif keyword == "search":
            search = _domains(values)
        elif keyword == "options":
            for option in values:
                name, _, value = option.partition(":")
                if name == "ndots":
                    ndots = _pick(_option_int(value, 0, MAX_NDOTS), ndots)
                elif name == "timeout":
                    # glibc waits at least one second whatever the file says (res_send.c).
                    t = _option_int(value, 1, int(MAX_TIMEOUT_S))
                    timeout_s = timeout_s if t is None else float(t)
                elif name == "attempts":
                    attempts = _pick(_option_int(value, 1, MAX_ATTEMPTS), attempts)
                elif name == "rotate":
                    rotate = True
                # Other options (edns0, single-request, use-vc, ...) do not apply here.
    return ResolvConf(
        nameservers=tuple(nameservers) or DEFAULT_NAMESERVERS,
        search=tuple(search),
        ndots=ndots,
        timeout_s=timeout_s,
        attempts=attempts,
        rotate=rotate,
    )


def _pick(value: int | None, default: int) -> int:
    return default if value is None else value


def _domains(values: list[str]) -> list[str]:
    """Return the search domains in `values`: trailing dot dropped, duplicates and root out."""
    domains: list[str] = []
    for value in values:
        domain = value.rstrip(".")
        if domain and domain not in domains and len(domains) < MAX_SEARCH_DOMAINS:
            domains.append(domain)
    return domains


def _read(path: str, max_bytes: int) -> str:
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise OSError(errno.EFBIG, f"{path} is larger than the limit of {max_bytes} bytes")
    # Configuration is ASCII; a stray byte must not make the whole file unreadable.
    return data.decode("utf-8", errors="replace")


def load_resolv_conf(
    path: str = "/etc/resolv.conf", *, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> ResolvConf:
    """Read and parse a resolv.conf(5) file.

    Args:
        path: the file to read.
        max_bytes: the largest file accepted.

    Returns:
        The configuration; the defaults (127.0.0.1) when the file does not exist, as glibc.

    Raises:
        OSError: the file exists but cannot be read, or is larger than `max_bytes` (EFBIG).
    """
    try:
        text = _read(path, max_bytes)
    except FileNotFoundError:
        return ResolvConf()
    return parse_resolv_conf(text)


@dataclass(frozen=True, slots=True)
class HostsEntry:
    """What /etc/hosts says about one name.

    Attributes:
        canonical_name: the first name of the first line that lists the name.
        ipv4: the IPv4 addresses, in file order.
        ipv6: the IPv6 addresses (scoped ones keep their `%scope`), in file order.
    """

    canonical_name: str
    ipv4: tuple[str, ...] = ()
    ipv6: tuple[str, ...] = ()


@dataclass(slots=True)
class _Collecting:
    canonical_name: str
    ipv4: list[str] = field(default_factory=list)
    ipv6: list[str] = field(default_factory=list)


class Hosts:
    """The name-to-address table of a hosts(5) file; build it with `parse_hosts`."""

    __slots__ = ("_entries",)

    def __init__(self, entries: dict[str, HostsEntry]) -> None:
        self._entries = entries

    def lookup(self, name: str) -> HostsEntry | None:
        """Return what the file says about `name`.

        Args:
            name: a host name; case and one trailing dot do not matter.

        Returns:
            The entry, or None when the file does not list the name.
        """
        return self._entries.get(_fold(name))

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Hosts names={len(self._entries)}>"


def _fold(name: str) -> str:
    # hosts(5) names are ASCII letters, digits, minus and dots: lower() is the DNS case fold.
    return name.removesuffix(".").lower()


def parse_hosts(text: str) -> Hosts:
    """Parse the text of a hosts(5) file.

    Args:
        text: the file's content.

    Returns:
        The table. Lines whose address does not parse, or that name no host, are skipped.
    """
    collected: dict[str, _Collecting] = {}
    for line in text.splitlines():
        fields = line.partition("#")[0].split()
        if len(fields) < 2:
            continue
        try:
            address = ipaddress.ip_address(fields[0])
        except ValueError:
            continue
        canonical = fields[1].removesuffix(".")
        for name in fields[1:]:
            key = _fold(name)
            if not key:
                continue
            entry = collected.setdefault(key, _Collecting(canonical))
            family = entry.ipv4 if address.version == 4 else entry.ipv6
            if str(address) not in family:
                family.append(str(address))
    return Hosts(
        {
            key: HostsEntry(c.canonical_name, tuple(c.ipv4), tuple(c.ipv6))
            for key, c in collected.items()
        }
    )


def load_hosts(path: str = "/etc/hosts", *, max_bytes: int = DEFAULT_MAX_FILE_BYTES) -> Hosts:
    """Read and parse a hosts(5) file.

    Args:
        path: the file to read.
        max_bytes: the largest file accepted.

    Returns:
        The table; an empty one when the file does not exist.

    Raises:
        OSError: the file exists but cannot be read, or is larger than `max_bytes` (EFBIG).
    """
    try:
        text = _read(path, max_bytes)
    except FileNotFoundError:
        return Hosts({})
    return parse_hosts(text)
