"""Room auto-battle over WebSocket: the example of the Zig sws README, the sws way.

Run: python -m sws_ws.examples.battle --host 127.0.0.1 --port 8080
Play: python -m websockets "ws://127.0.0.1:8080/play?name=alice", then send JSON commands:

    {"type": "join", "room": "r1", "unit": "archer"}     unit: knight (default), archer, mage
    {"type": "leave"}

and get JSON back:

    {"type": "countdown", "room", "players", "seconds_left"}    to the room, on every join and
        leave and every `announce_every_s` until the battle
    {"type": "battle", "room", "seed", "players", "winner", "rounds", "log"}    to the room
    {"type": "error", "error"}    to the sender only; the connection stays open

Flow: the first player to join a room starts its countdown. A tick hook checks the rooms every
loop turn, cheaply: it returns at once until the earliest deadline has passed. When a room's
countdown is over, its players (names and units, as tuples) and a seed go to `simulate` on a
worker thread; the outcome comes back to the IO thread, is published to the room's topic, and
the room resets: its players leave it (and may join again). A fighting room takes nobody new.
A player who leaves or disconnects is removed from the room; an empty room is dropped.

Threading: all but `simulate` runs on the IO thread: the WebSocket callbacks, the tick hook,
timers, and the `on_done` of `loop.submit`. So the rooms are plain dicts with no lock.
`simulate` runs on a worker (the loop needs one: `Loop(workers=1)`, `app.run(threads=1)`):
it gets immutable values, reads the constant `UNITS` and returns a new value, so nothing
mutable is shared between the threads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import random
from dataclasses import dataclass, field
from typing import Any, Final

from sws_core import Loop, NoWorkerPoolError
from sws_ws import Server, WebSocket

log = logging.getLogger("sws_ws.examples.battle")

DEFAULT_COUNTDOWN_S: Final = 5.0  # from a room's first join to its battle
DEFAULT_ANNOUNCE_EVERY_S: Final = 1.0  # countdown updates while a room waits
MAX_ROOMS: Final = 1024
MAX_PLAYERS: Final = 16  # per room
MAX_NAME_CHARS: Final = 32  # player and room names
MAX_ROUNDS: Final = 100_000  # a battle still undecided then goes to the most hp left
MAX_MESSAGE_BYTES: Final = 4096  # commands are a few dozen bytes; the default is 1 MiB
# unit -> (hit points, attack: each hit takes 1..attack, dodge: the chance a hit misses it)
UNITS: Final = {"knight": (12_000, 9, 0.10), "archer": (9_000, 12, 0.20), "mage": (7_000, 16, 0.05)}

Players = tuple[tuple[str, str], ...]  # (name, unit) in join order


@dataclass(frozen=True, slots=True)
class Outcome:
    """What `simulate` returns: the winner, how long it took, and who fell when."""

    winner: str
    rounds: int
    log: tuple[str, ...]


def simulate(players: Players, seed: int) -> Outcome:
    """Everyone against everyone, until one stands: a pure function of its arguments.

    Each round, every fighter still standing, in join order, strikes a random other one.
    CPU work of a few thousand rounds: the reason it runs on a worker thread.
    """
    assert players, "a battle needs a player"
    rng = random.Random(seed)
    units = dict(players)
    hp = {name: UNITS[unit][0] for name, unit in players}
    alive = [name for name, _ in players]
    events: list[str] = []
    rounds = 0
    while len(alive) > 1 and rounds < MAX_ROUNDS:
        rounds += 1
        for attacker in tuple(alive):
            if hp[attacker] <= 0 or len(alive) < 2:
                continue  # fell earlier this round, or nobody left to strike
            target = rng.choice([name for name in alive if name != attacker])
            if rng.random() < UNITS[units[target]][2]:
                continue
            hp[target] -= rng.randint(1, UNITS[units[attacker]][1])
            if hp[target] <= 0:
                alive.remove(target)
                events.append(f"round {rounds}: {target} fell to {attacker}")
    winner = max(alive, key=hp.__getitem__)  # the last one standing, or the toughest left
    events.append(f"{winner} wins after {rounds} rounds with {hp[winner]} hp left")
    return Outcome(winner, rounds, tuple(events))


@dataclass(slots=True)
class Room:
    """A room waits (`deadline` ahead), then fights (`fighting`), then is dropped."""

    id: str
    deadline: float  # on the loop's clock (`loop.now`)
    next_announce: float
    players: dict[str, WebSocket] = field(default_factory=dict)  # name -> ws, join order
    fighting: bool = False

    @property
    def topic(self) -> str:
        return "room:" + self.id


class Arena:
    """The rooms of one server (`app`), and the callbacks of its `/play` WebSocket route.

    Args:
        countdown_s: from a room's first join to its battle.
        announce_every_s: how often a waiting room hears its countdown.
    """

    def __init__(
        self,
        *,
        countdown_s: float = DEFAULT_COUNTDOWN_S,
        announce_every_s: float = DEFAULT_ANNOUNCE_EVERY_S,
    ) -> None:
        self.countdown_s = countdown_s
        self.announce_every_s = announce_every_s
        self.rooms: dict[str, Room] = {}
        self.app = Server(max_frame_bytes=MAX_MESSAGE_BYTES, max_message_bytes=MAX_MESSAGE_BYTES)
        self.app.ws("/play")(self)  # this one object serves every connection
        self.loop: Loop | None = None  # known from the first connection on
        self._next_due = math.inf  # the earliest deadline or announcement of a waiting room
        self._seeds = random.Random()

    # --- WebSocket callbacks ------------------------------------------------------------------

    def on_open(self, ws: WebSocket) -> None:
        if self.loop is not ws.conn.loop:  # the first connection: the loop exists now
            self.loop = ws.conn.loop
            self.loop.add_tick_hook(self.tick)
        ws.data["name"] = (ws.query.get("name") or ["guest"])[0][:MAX_NAME_CHARS] or "guest"
        ws.data["room"] = None

    def on_message(self, ws: WebSocket, message: str | bytes) -> None:
        try:
            command = json.loads(message)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            command = None
        kind = command.get("type") if isinstance(command, dict) else None
        if not isinstance(command, dict):
            _error(ws, "a command is a JSON object")
        elif kind == "join":
            self.join(ws, command.get("room"), command.get("unit", "knight"))
        elif kind != "leave":
            _error(ws, f"unknown command type {kind!r}: join or leave")
        elif not self.leave(ws):
            _error(ws, "not in a room")

    def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
        self.leave(ws)

    # --- rooms --------------------------------------------------------------------------------

    def join(self, ws: WebSocket, room_id: Any, unit: Any) -> None:
        """Put `ws` in room `room_id` (opened, and its countdown started, if new)."""
        problem = self._join_problem(ws, room_id, unit)
        if problem is not None:
            _error(ws, problem)
            return
        now = ws.conn.loop.now
        room = self.rooms.get(room_id)
        if room is None:
            room = Room(room_id, now + self.countdown_s, now + self.announce_every_s)
            self.rooms[room_id] = room
            self._schedule(ws.conn.loop, min(room.deadline, room.next_announce))
        room.players[ws.data["name"]] = ws
        ws.data["room"], ws.data["unit"] = room_id, unit
        ws.subscribe(room.topic)
        self._announce(room, now)

    def _join_problem(self, ws: WebSocket, room_id: Any, unit: Any) -> str | None:
        if ws.data["room"] is not None:
            return f"already in room {ws.data['room']!r}: leave first"
        if not isinstance(room_id, str) or not 0 < len(room_id) <= MAX_NAME_CHARS:
            return f"a room is a name of 1 to {MAX_NAME_CHARS} characters"
        if not isinstance(unit, str) or unit not in UNITS:
            return f"unknown unit {unit!r}: one of {', '.join(UNITS)}"
        room = self.rooms.get(room_id)
        if room is None:
            return f"{MAX_ROOMS} rooms already open" if len(self.rooms) >= MAX_ROOMS else None
        if room.fighting:
            return f"room {room_id!r} is fighting: join after its battle"
        if len(room.players) >= MAX_PLAYERS:
            return f"room {room_id!r} is full ({MAX_PLAYERS} players)"
        if ws.data["name"] in room.players:
            return f"the name {ws.data['name']!r} is taken in room {room_id!r}"
        return None

    def leave(self, ws: WebSocket) -> bool:
        """Take `ws` out of its room; returns whether it was in one."""
        room = self.rooms.get(ws.data.get("room") or "")
        ws.data["room"] = None
        if room is None:
            return False
        del room.players[ws.data["name"]]
        ws.unsubscribe(room.topic)
        if not room.players:
            del self.rooms[room.id]  # a battle still running then reports to nobody
        elif not room.fighting:
            self._announce(room, ws.conn.loop.now)
        return True

    def _announce(self, room: Room, now: float) -> None:
        left, players = round(max(0.0, room.deadline - now), 1), list(room.players)
        message = {"type": "countdown", "room": room.id, "players": players, "seconds_left": left}
        self.app.publish(room.topic, json.dumps(message))

    # --- the tick hook and the battle ---------------------------------------------------------

    def tick(self) -> None:
        """The tick hook, every loop turn: start the battles and announcements now due."""
        loop = self.loop
        if loop is None or loop.now < self._next_due:
            return
        now, due = loop.now, math.inf
        for room in list(self.rooms.values()):
            if room.fighting:
                continue
            if now >= room.deadline:
                self._start_battle(loop, room)
                continue
            if now >= room.next_announce:
                room.next_announce = now + self.announce_every_s
                self._announce(room, now)
            due = min(due, room.deadline, room.next_announce)
        self._next_due = math.inf
        self._schedule(loop, due)

    def _schedule(self, loop: Loop, due: float) -> None:
        # A tick hook runs only when the loop turns, and a loop with nothing to do may sleep
        # up to a second (its TTL tick): a timer at `due` ends that sleep in time.
        if due < self._next_due:
            self._next_due = due
            loop.call_later(due - loop.now, _wake)

    def _start_battle(self, loop: Loop, room: Room) -> None:
        room.fighting = True
        players = tuple((name, ws.data["unit"]) for name, ws in room.players.items())
        seed = self._seeds.randrange(1 << 32)

        def done(outcome: Outcome | None, exc: BaseException | None) -> None:
            """`on_done`, on the IO thread: publish the outcome, then reset the room."""
            if self.rooms.get(room.id) is not room:
                return  # everyone left during the battle: the room is gone
            if outcome is None:
                log.error("battle in room %s failed", room.id, exc_info=exc)
                message: dict[str, Any] = {"type": "error", "error": "the battle failed"}
            else:
                message = {"type": "battle", "room": room.id, "seed": seed}
                message["players"] = [{"name": name, "unit": unit} for name, unit in players]
                message.update(dataclasses.asdict(outcome))
            self.app.publish(room.topic, json.dumps(message))
            del self.rooms[room.id]
            for ws in room.players.values():
                ws.unsubscribe(room.topic)
                ws.data["room"] = None

        try:
            loop.submit(simulate, players, seed, on_done=done)
        except NoWorkerPoolError as exc:  # a loop made with workers=0
            done(None, exc)

    def __repr__(self) -> str:
        fighting = sum(room.fighting for room in self.rooms.values())
        return f"<Arena rooms={len(self.rooms)} fighting={fighting} next_due={self._next_due}>"


def _wake() -> None:
    """Nothing: this timer only wakes the loop, so that the tick hook runs in time."""


def _error(ws: WebSocket, text: str) -> None:
    ws.send(json.dumps({"type": "error", "error": text}))


def main() -> None:
    parser = argparse.ArgumentParser(description="room auto-battle over WebSocket")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--countdown", type=float, default=DEFAULT_COUNTDOWN_S, help="seconds")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    arena = Arena(countdown_s=args.countdown)
    # One worker thread, as the original recommends for CPU work (initPool4NextSubmit(1)).
    arena.app.run(args.host, args.port, threads=1, ready=_ready)
    print("stopped", flush=True)


def _ready(host: str, port: int) -> None:
    print(f"battle server on ws://{host}:{port}/play?name=alice", flush=True)


if __name__ == "__main__":
    main()
