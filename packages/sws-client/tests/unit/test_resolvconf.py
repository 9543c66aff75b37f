"""resolv.conf(5) and hosts(5) parsing: tables of file texts and what they mean."""

from __future__ import annotations

import dataclasses
import errno
from pathlib import Path

import pytest

from sws_client._resolvconf import (
    DEFAULT_PORT,
    Hosts,
    HostsEntry,
    ResolvConf,
    load_hosts,
    load_resolv_conf,
    parse_hosts,
    parse_resolv_conf,
)

LOCAL = (("127.0.0.1", 53),)

# --- resolv.conf ----------------------------------------------------------------------------


def test_defaults_of_an_empty_file() -> None:
    conf = parse_resolv_conf("")
    assert conf == ResolvConf()
    assert conf.nameservers == LOCAL
    assert conf.search == ()
    assert (conf.ndots, conf.timeout_s, conf.attempts, conf.rotate) == (1, 5.0, 2, False)


@pytest.mark.parametrize(
    ("text", "nameservers"),
    [
        ("nameserver 192.0.2.1\n", (("192.0.2.1", 53),)),
        ("nameserver 2001:db8::1\n", (("2001:db8::1", 53),)),
        ("nameserver 2001:DB8:0:0::1\n", (("2001:db8::1", 53),)),  # normalized
        ("nameserver fe80::1%eth0\n", (("fe80::1%eth0", 53),)),  # scoped IPv6
        ("nameserver\t192.0.2.1 \t\n", (("192.0.2.1", 53),)),  # tabs and trailing blanks
        ("nameserver 192.0.2.1\r\n", (("192.0.2.1", 53),)),  # CRLF
        ("   nameserver 192.0.2.1\n", (("192.0.2.1", 53),)),  # indented
        ("nameserver 192.0.2.1 # office\n", (("192.0.2.1", 53),)),
        ("nameserver 192.0.2.1;office\n", (("192.0.2.1", 53),)),
        ("nameserver 192.0.2.1 192.0.2.2\n", (("192.0.2.1", 53),)),  # one address a line
        ("nameserver 192.0.2.1\nnameserver 192.0.2.2\n", (("192.0.2.1", 53), ("192.0.2.2", 53))),
        # glibc keeps the first three (MAXNS)
        (
            "".join(f"nameserver 192.0.2.{i}\n" for i in range(1, 6)),
            tuple((f"192.0.2.{i}", 53) for i in range(1, 4)),
        ),
        # invalid addresses are skipped and do not count against the three
        (
            "nameserver bogus\nnameserver 300.1.1.1\nnameserver 192.0.2.1:53\n"
            "nameserver fe80::1%\nnameserver 10.0.0.1%eth0\nnameserver 192.0.2.9\n",
            (("192.0.2.9", 53),),
        ),
        ("nameserver\n", LOCAL),  # no value
        ("# nameserver 192.0.2.1\n", LOCAL),
        ("; nameserver 192.0.2.1\n", LOCAL),
        ("Nameserver 192.0.2.1\n", LOCAL),  # keywords are case-sensitive, as in glibc
        ("nameservers 192.0.2.1\n", LOCAL),
    ],
)
def test_nameservers(text: str, nameservers: tuple[tuple[str, int], ...]) -> None:
    assert parse_resolv_conf(text).nameservers == nameservers


@pytest.mark.parametrize(
    ("text", "search"),
    [
        ("search a.example b.example\n", ("a.example", "b.example")),
        ("search\ta.example.   b.example.\n", ("a.example", "b.example")),  # trailing dots
        ("domain a.example\n", ("a.example",)),
        ("domain a.example b.example\n", ("a.example",)),  # domain takes one
        ("search a.example\ndomain b.example\n", ("b.example",)),  # the last one wins
        ("domain b.example\nsearch a.example c.example\n", ("a.example", "c.example")),
        ("search a.example\nsearch c.example\n", ("c.example",)),
        ("search a.example # lab\n", ("a.example",)),
        ("search a.example a.example. b.example\n", ("a.example", "b.example")),
        ("search .\n", ()),  # the root adds nothing
        ("search\n", ()),
        (
            "search " + " ".join(f"d{i}.example" for i in range(40)) + "\n",
            tuple(f"d{i}.example" for i in range(32)),
        ),
    ],
)
def test_search(text: str, search: tuple[str, ...]) -> None:
    assert parse_resolv_conf(text).search == search


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("options ndots:2", {"ndots": 2}),
        ("options ndots:0", {"ndots": 0}),
        ("options ndots:99", {"ndots": 15}),
        ("options ndots:", {"ndots": 1}),
        ("options ndots:x", {"ndots": 1}),
        ("options ndots:-1", {"ndots": 1}),
        ("options timeout:1", {"timeout_s": 1.0}),
        ("options timeout:0", {"timeout_s": 1.0}),  # glibc waits one second at least
        ("options timeout:31", {"timeout_s": 30.0}),
        ("options attempts:3", {"attempts": 3}),
        ("options attempts:0", {"attempts": 1}),
        ("options attempts:9", {"attempts": 5}),
        ("options rotate", {"rotate": True}),
        (
            "options edns0 rotate\ttimeout:2  ndots:3",
            {"rotate": True, "timeout_s": 2.0, "ndots": 3},
        ),
        ("options ndots:2\noptions ndots:4", {"ndots": 4}),
        ("options ndots:2\noptions timeout:3", {"ndots": 2, "timeout_s": 3.0}),
        ("options NDOTS:2 Rotate", {}),  # option names are case-sensitive
        ("options rotate:yes", {"rotate": True}),  # glibc matches the name before a colon
        ("options", {}),
    ],
)
def test_options(text: str, expected: dict[str, object]) -> None:
    assert parse_resolv_conf(text) == dataclasses.replace(ResolvConf(), **expected)


def test_a_whole_file() -> None:
    text = (
        "# Generated by NetworkManager\n"
        "\n"
        "search corp.example lab.example\n"
        "nameserver 10.0.0.53\n"
        "; a comment\n"
        "nameserver fe80::53%eth0\n"
        "options ndots:5 timeout:2 attempts:3 rotate\n"
        "unknown keyword here\n"
        "sortlist 130.155.160.0/255.255.240.0\n"
    )
    assert parse_resolv_conf(text) == ResolvConf(
        nameservers=(("10.0.0.53", 53), ("fe80::53%eth0", 53)),
        search=("corp.example", "lab.example"),
        ndots=5,
        timeout_s=2.0,
        attempts=3,
        rotate=True,
    )


@pytest.mark.parametrize(
    "fields",
    [
        {"nameservers": ()},
        {"nameservers": (("10.0.0.1", 53),) * 4},
        {"search": ("a.example",) * 33},
        {"ndots": -1},
        {"ndots": 16},
        {"timeout_s": 0},
        {"timeout_s": 31},
        {"attempts": 0},
        {"attempts": 6},
    ],
)
def test_resolv_conf_rejects_values_out_of_bounds(fields: dict[str, object]) -> None:
    [field] = fields
    with pytest.raises(ValueError, match=field):
        ResolvConf(**fields)


def test_resolv_conf_takes_a_test_server_with_a_port_and_a_short_timeout() -> None:
    conf = ResolvConf(nameservers=(("127.0.0.1", 5353),), timeout_s=0.2)
    assert conf.nameservers[0][1] == 5353
    assert DEFAULT_PORT == 53


def test_load_resolv_conf(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_bytes(b"nameserver 192.0.2.1\nsearch \xff.example ok.example\n")
    conf = load_resolv_conf(str(path))
    assert conf.nameservers == (("192.0.2.1", 53),)
    assert conf.search[1] == "ok.example"  # a stray byte spoils one word, not the file


def test_load_resolv_conf_missing_file_gives_the_defaults(tmp_path: Path) -> None:
    assert load_resolv_conf(str(tmp_path / "absent")) == ResolvConf()


def test_load_resolv_conf_refuses_a_file_over_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "resolv.conf"
    path.write_text("nameserver 192.0.2.1\n")
    assert load_resolv_conf(str(path), max_bytes=21).nameservers == (("192.0.2.1", 53),)
    with pytest.raises(OSError) as info:
        load_resolv_conf(str(path), max_bytes=20)
    assert info.value.errno == errno.EFBIG


def test_load_resolv_conf_other_errors_propagate(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError):
        load_resolv_conf(str(tmp_path))


# --- hosts ----------------------------------------------------------------------------------

HOSTS = """\
# The following lines are desirable for IPv4 capable hosts
127.0.0.1       localhost
127.0.1.1\tbox.example.org   box
::1             localhost ip6-localhost ip6-loopback
192.0.2.10      web.example.org web www # the web server
2001:db8::10    web.example.org web
192.0.2.11      web.example.org
192.0.2.10      WEB.example.org
fe80::1%eth0    router
not-an-address  broken.example.org
10.0.0.1
   10.0.0.2   indented.example.org
10.0.0.3 trailing-dot.example.org.
#10.0.0.4 commented.example.org
10.0.0.5#glued.example.org
"""


@pytest.mark.parametrize(
    ("name", "entry"),
    [
        ("localhost", HostsEntry("localhost", ("127.0.0.1",), ("::1",))),
        ("LocalHost", HostsEntry("localhost", ("127.0.0.1",), ("::1",))),
        ("localhost.", HostsEntry("localhost", ("127.0.0.1",), ("::1",))),
        ("ip6-loopback", HostsEntry("localhost", (), ("::1",))),
        ("box", HostsEntry("box.example.org", ("127.0.1.1",), ())),
        # three lines, in file order, the duplicate once, the canonical name of the first
        (
            "web",
            HostsEntry("web.example.org", ("192.0.2.10",), ("2001:db8::10",)),
        ),
        (
            "web.example.org",
            HostsEntry("web.example.org", ("192.0.2.10", "192.0.2.11"), ("2001:db8::10",)),
        ),
        ("www", HostsEntry("web.example.org", ("192.0.2.10",), ())),
        ("router", HostsEntry("router", (), ("fe80::1%eth0",))),
        ("indented.example.org", HostsEntry("indented.example.org", ("10.0.0.2",), ())),
        ("trailing-dot.example.org", HostsEntry("trailing-dot.example.org", ("10.0.0.3",), ())),
        ("broken.example.org", None),
        ("commented.example.org", None),
        ("glued.example.org", None),
        ("the", None),  # words of a comment are no names
        ("example.org", None),
    ],
)
def test_hosts_lookup(name: str, entry: HostsEntry | None) -> None:
    assert parse_hosts(HOSTS).lookup(name) == entry


def test_hosts_size_and_repr() -> None:
    hosts = parse_hosts(HOSTS)
    assert len(hosts) == 11
    assert repr(hosts) == "<Hosts names=11>"
    assert len(parse_hosts("")) == 0
    assert len(parse_hosts("\n\n# only comments\n  \t\n")) == 0


def test_load_hosts(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("192.0.2.1 db\n")
    hosts = load_hosts(str(path))
    assert hosts.lookup("db") == HostsEntry("db", ("192.0.2.1",), ())
    assert isinstance(load_hosts(str(tmp_path / "absent")), Hosts)
    assert len(load_hosts(str(tmp_path / "absent"))) == 0
    with pytest.raises(OSError) as info:
        load_hosts(str(path), max_bytes=4)
    assert info.value.errno == errno.EFBIG


def test_the_files_of_this_machine_parse() -> None:
    conf = load_resolv_conf()
    assert 1 <= len(conf.nameservers) <= 3
    assert isinstance(load_hosts(), Hosts)
