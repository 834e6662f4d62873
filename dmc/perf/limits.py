"""Load shedding: a per-process admission limit and per-key token buckets (fair share).

* ``Admission``: at most ``slots`` requests run the application at once in this process; up to
  ``queue`` more wait at most ``wait_s`` for a slot; anything beyond is refused at once (503).
  Refusing early and cheaply is what keeps admitted requests fast when offered load exceeds
  what the machine can do (deadline day): the work the machine can do goes to requests that
  will finish, not to a growing queue whose every request ends in a timeout.
* ``Buckets``: a token bucket per key (a school, an API token, a user): ``rate`` requests per
  second on average with bursts of ``burst``; a refusal says how long until the next request
  would be allowed (429 + Retry-After). State is in-process by default (correct for one
  process; with N processes a key may get up to N × its rate); with ``DMC_RATE_REDIS_URL`` the
  counts are shared by every process through Redis (``RedisWindow``), falling back to the
  in-process buckets if Redis does not answer.
"""

from __future__ import annotations

import math
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlparse


@dataclass(frozen=True)
class Decision:
    allowed: bool
    retry_after: int = 0  # whole seconds (the Retry-After header), >= 1 when refused


class Admission:
    """A bounded number of requests in flight, a bounded short wait, and fast refusal."""

    def __init__(self, slots: int, queue: int, wait_s: float) -> None:
        self.slots = max(1, slots)
        self.queue = max(0, queue)
        self.wait_s = max(0.0, wait_s)
        self._sem = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self._waiting = 0
        self.admitted = 0
        self.refused = 0

    def acquire(self) -> bool:
        if self._sem.acquire(blocking=False):
            self._count(True)
            return True
        with self._lock:
            if self._waiting >= self.queue:
                self.refused += 1
                return False
            self._waiting += 1
        try:
            ok = self._sem.acquire(timeout=self.wait_s) if self.wait_s else False
        finally:
            with self._lock:
                self._waiting -= 1
        self._count(ok)
        return ok

    def release(self) -> None:
        self._sem.release()

    def _count(self, ok: bool) -> None:
        with self._lock:
            if ok:
                self.admitted += 1
            else:
                self.refused += 1


class Buckets:
    """Token buckets per key, in this process (least recently used keys forgotten past
    ``max_keys``; a forgotten key starts again with a full bucket, which only ever errs on the
    side of allowing)."""

    def __init__(
        self,
        rate: float,
        burst: int,
        max_keys: int = 100_000,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self.max_keys = max_keys
        self._now = now
        self._lock = threading.Lock()
        self._state: OrderedDict[str, tuple[float, float]] = OrderedDict()  # key -> (tokens, t)

    def hit(self, key: str, cost: float = 1.0) -> Decision:
        now = self._now()
        with self._lock:
            tokens, last = self._state.pop(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            if tokens >= cost:
                self._state[key] = (tokens - cost, now)
                allowed, wait = True, 0
            else:
                self._state[key] = (tokens, now)
                need = (cost - tokens) / self.rate if self.rate > 0 else 60.0
                allowed, wait = False, max(1, math.ceil(need))
            while len(self._state) > self.max_keys:
                self._state.popitem(last=False)
        return Decision(allowed, wait)


class RedisWindow:
    """The same limit shared by every process: a fixed one-second window counted in Redis
    (``INCR`` + ``EXPIRE`` in one round trip), allowing ``rate`` per second plus the unused part
    of ``burst`` … kept simple: at most ``max(rate, 1)`` per second and ``burst`` per
    ``burst/rate`` seconds. Speaks the Redis protocol over a socket (no client library); any
    error falls back to the in-process ``Buckets`` (never refuses because Redis is down)."""

    def __init__(self, url: str, rate: float, burst: int, prefix: str = "dmc:rl:") -> None:
        parsed = urlparse(url)
        self.host = parsed.hostname or "127.0.0.1"
        self.port = parsed.port or 6379
        self.db = int((parsed.path or "/0").strip("/") or 0)
        self.rate = rate
        self.burst = max(1, burst)
        self.window = max(1, math.ceil(self.burst / rate)) if rate > 0 else 60
        self.prefix = prefix
        self.fallback = Buckets(rate, burst)
        self._local = threading.local()

    def _conn(self) -> socket.socket:
        sock: socket.socket | None = getattr(self._local, "sock", None)
        if sock is None:
            sock = socket.create_connection((self.host, self.port), timeout=0.05)
            if self.db:
                sock.sendall(_command("SELECT", str(self.db)))
                _read_reply(sock)
            self._local.sock = sock
        return sock

    def hit(self, key: str, cost: float = 1.0) -> Decision:
        slot = int(time.time() // self.window)
        name = f"{self.prefix}{key}:{slot}"
        try:
            sock = self._conn()
            sock.sendall(_command("INCR", name) + _command("EXPIRE", name, str(self.window + 1)))
            count = _read_reply(sock)
            _read_reply(sock)
        except (OSError, ValueError):
            broken = getattr(self._local, "sock", None)
            if broken is not None:
                broken.close()
                self._local.sock = None
            return self.fallback.hit(key, cost)
        if int(count) <= self.burst:
            return Decision(True)
        left = self.window - (time.time() % self.window)
        return Decision(False, max(1, math.ceil(left)))


def _command(*parts: str) -> bytes:
    out = [f"*{len(parts)}\r\n".encode()]
    for p in parts:
        raw = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def _read_reply(sock: socket.socket) -> int | str:
    """One integer or simple-string reply (what INCR, EXPIRE and SELECT answer)."""
    buf = b""
    while not buf.endswith(b"\r\n"):
        chunk = sock.recv(1)
        if not chunk:
            raise OSError("redis closed the connection")
        buf += chunk
    kind, body = buf[:1], buf[1:-2].decode()
    if kind == b":":
        return int(body)
    if kind == b"+":
        return body
    raise ValueError(f"redis error: {body}")
