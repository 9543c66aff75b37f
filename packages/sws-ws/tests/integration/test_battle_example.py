"""End to end: `sws_ws.examples.battle` on a real loop, played by `websockets` clients.

Self-contained (no conftest): the `served` fixture starts the arena's loop on a thread with
port 0 and, at teardown, stops and joins it and checks that no slot is live and no room is
left. The clients are closed before that, when `asyncio.run` returns. Every wait is bounded
by `WAIT_S`; the only timing is the arena's own (short) countdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from sws_core import Loop
from sws_ws.examples.battle import Arena, simulate

pytestmark = pytest.mark.integration

WAIT_S = 10.0  # the bound on every message wait
JOIN_S = 20.0  # a graceful stop, plus the worker thread finishing
# From a room's first join to its battle: long enough for the test's joins and the leaver's
# close (a few round trips on loopback), short enough to keep the test quick.
COUNTDOWN_S = 0.5
# For the tests of commands: no battle starts while they run, whatever the machine's load.
NO_BATTLE = pytest.mark.parametrize("served", [3600.0], indirect=True)


@dataclass
class Served:
    arena: Arena
    loop: Loop
    port: int
    errors: list[BaseException] = field(default_factory=list)

    def url(self, name: str) -> str:
        return f"ws://127.0.0.1:{self.port}/play?name={name}"


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """The arena served on 127.0.0.1:0; its countdown is `COUNTDOWN_S` unless parametrized."""
    arena = Arena(countdown_s=getattr(request, "param", COUNTDOWN_S))
    loop = Loop(workers=1, handle_signals=False)
    listener = arena.app.listen(loop, "127.0.0.1", 0)  # before run(): the ring is made there
    served = Served(arena, loop, listener.port)

    def run() -> None:
        try:
            loop.run()
        except BaseException as exc:
            served.errors.append(exc)

    thread = threading.Thread(target=run, name="battle-loop", daemon=True)
    thread.start()
    try:
        yield served
    finally:
        loop.stop()
        thread.join(JOIN_S)
    assert not thread.is_alive(), f"loop thread still running {JOIN_S} s after stop"
    assert not served.errors, f"loop.run() raised {served.errors!r}"
    assert loop.statistics().slots_live == 0
    assert arena.rooms == {}  # every player disconnected: every room dropped


async def receive(ws: ClientConnection) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), WAIT_S))
    assert isinstance(message, dict)
    return message


async def receive_until(ws: ClientConnection, kind: str) -> list[dict[str, Any]]:
    """The messages up to and including the first of type `kind`."""
    seen = [await receive(ws)]
    while seen[-1]["type"] != kind:
        seen.append(await receive(ws))
    return seen


async def send(ws: ClientConnection, command: dict[str, Any]) -> None:
    await ws.send(json.dumps(command))


def test_a_room_fights_and_everyone_in_it_sees_the_same_battle(served: Served) -> None:
    async def play() -> None:
        async with contextlib.AsyncExitStack() as stack:
            names = ["alice", "bob", "carol", "erin", "dave"]
            ws = {
                name: await stack.enter_async_context(connect(served.url(name))) for name in names
            }
            # Every join goes out back to back, so they all land within the countdown.
            units = {"alice": "knight", "bob": "archer", "carol": "mage", "erin": "knight"}
            for name, unit in units.items():
                await send(ws[name], {"type": "join", "room": "r1", "unit": unit})
            await send(ws["dave"], {"type": "join", "room": "r2"})

            # erin sees herself in the room (her first message), then leaves before the battle.
            assert "erin" in (await receive(ws["erin"]))["players"]
            await ws["erin"].close()

            seen = {
                name: await receive_until(ws[name], "battle") for name in units if name != "erin"
            }
            battles = [messages[-1] for messages in seen.values()]
            battle = battles[0]
            assert all(other == battle for other in battles)  # one publish, one result
            assert battle["room"] == "r1"
            players = [(p["name"], p["unit"]) for p in battle["players"]]
            assert sorted(players) == [("alice", "knight"), ("bob", "archer"), ("carol", "mage")]
            assert battle["winner"] in {"alice", "bob", "carol"}
            assert battle["rounds"] > 0
            assert battle["log"][-1].startswith(f"{battle['winner']} wins after")
            # The worker's result is simulate's, a pure function of the players and the seed.
            outcome = simulate(tuple(players), battle["seed"])
            assert (outcome.winner, outcome.rounds) == (battle["winner"], battle["rounds"])
            assert list(outcome.log) == battle["log"]
            for name, messages in seen.items():
                countdowns = [m for m in messages if m["type"] == "countdown"]
                assert countdowns, f"{name} saw no countdown"
                assert all(m["room"] == "r1" for m in messages), messages
                assert name in countdowns[-1]["players"]
                assert "erin" not in countdowns[-1]["players"]  # her leave was announced

            # r2 fought alone; its player saw nothing of r1.
            dave = await receive_until(ws["dave"], "battle")
            assert all(m["room"] == "r2" for m in dave), dave
            assert dave[-1]["players"] == [{"name": "dave", "unit": "knight"}]
            assert (dave[-1]["winner"], dave[-1]["rounds"]) == ("dave", 0)
            # r1's battle went out before this reply: had it reached dave, it would come first.
            await send(ws["dave"], {"type": "leave"})  # r2 reset: dave is in no room now
            assert await receive(ws["dave"]) == {"type": "error", "error": "not in a room"}

            # The room reset: alice can join again, and a new countdown starts with her alone.
            await send(ws["alice"], {"type": "join", "room": "r1"})
            again = await receive(ws["alice"])
            assert again["type"] == "countdown"
            assert again["players"] == ["alice"]

    asyncio.run(play())


@NO_BATTLE
@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("not json", "a command is a JSON object"),
        (b"\xff\xfe binary", "a command is a JSON object"),
        ("[1, 2]", "a command is a JSON object"),
        ("[" * 2000 + "]" * 2000, "a command is a JSON object"),  # nested past the recursion limit
        ('{"type": "dance"}', "unknown command type 'dance'"),
        ('{"room": "r1"}', "unknown command type None"),
        ('{"type": "leave"}', "not in a room"),
        ('{"type": "join"}', "a room is a name of 1 to 32 characters"),
        ('{"type": "join", "room": ""}', "a room is a name of 1 to 32 characters"),
        ('{"type": "join", "room": ["r1"]}', "a room is a name of 1 to 32 characters"),
        ('{"type": "join", "room": "r1", "unit": "dragon"}', "unknown unit 'dragon'"),
        ('{"type": "join", "room": "r1", "unit": ["knight"]}', "unknown unit ['knight']"),
    ],
)
def test_bad_input_gets_an_error_and_the_connection_stays_usable(
    served: Served, message: str | bytes, error: str
) -> None:
    async def play() -> None:
        async with connect(served.url("mallory")) as ws:
            await ws.send(message)
            reply = await receive(ws)
            assert reply["type"] == "error"
            assert reply["error"].startswith(error), reply
            await send(ws, {"type": "join", "room": "r9"})
            joined = await receive(ws)
            assert joined["type"] == "countdown"
            assert joined["players"] == ["mallory"]

    asyncio.run(play())


@NO_BATTLE
def test_joins_that_break_the_room_rules_are_refused(served: Served) -> None:
    async def play() -> None:
        async with connect(served.url("ann")) as ann, connect(served.url("ann")) as twin:
            await send(ann, {"type": "join", "room": "r1"})
            assert (await receive(ann))["players"] == ["ann"]
            await send(ann, {"type": "join", "room": "r2"})
            assert (await receive(ann))["error"] == "already in room 'r1': leave first"
            await send(twin, {"type": "join", "room": "r1"})
            assert (await receive(twin))["error"] == "the name 'ann' is taken in room 'r1'"
            # Leaving drops the room, now empty; a second leave has nothing to leave, and its
            # answer says the first is done. Then the twin opens a new r1.
            await send(ann, {"type": "leave"})
            await send(ann, {"type": "leave"})
            assert (await receive(ann))["error"] == "not in a room"
            await send(twin, {"type": "join", "room": "r1"})
            assert (await receive(twin))["players"] == ["ann"]

    asyncio.run(play())


def test_simulate_is_a_pure_function_of_players_and_seed() -> None:
    players = (("a", "knight"), ("b", "archer"), ("c", "mage"))
    first = simulate(players, 7)
    assert simulate(players, 7) == first
    assert first.winner in {"a", "b", "c"}
    assert len(first.log) == len(players)  # two fell, then the winner's line
    assert simulate((("solo", "mage"),), 7).rounds == 0
