"""Throttling failed authentication, shared by every worker process through the database (issue 9).

Keys: ``user:<username>`` (one account, whatever the address), ``ip:<address>`` (one client,
whatever the account: credential stuffing) and ``token-ip:<address>`` (invalid API tokens).
Each key allows ``limit`` failures inside ``DMC_AUTH_WINDOW_SECONDS``; the next failure locks it
for ``DMC_AUTH_LOCK_SECONDS``, and every failure after that doubles the lock (up to
``DMC_AUTH_LOCK_MAX_SECONDS``). While a key is locked the password is not even checked. A
successful login clears the account's key (not the address's: one valid account must not
reset a guessing client). Times come from ``dmc.core.clock``.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.http import HttpRequest

from dmc.accounts.models import AuthThrottle
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.thai import format_datetime_be


def client_ip(request: HttpRequest) -> str:
    """The client address. Behind a reverse proxy set DMC_TRUSTED_PROXY_HEADER (for example
    ``HTTP_X_REAL_IP``) to the header the proxy itself sets; never trust one a client can send."""
    header = getattr(settings, "DMC_TRUSTED_PROXY_HEADER", "")
    if header and request.META.get(header):
        return str(request.META[header]).split(",")[0].strip()[:64]
    return str(request.META.get("REMOTE_ADDR", ""))[:64]


def user_key(username: str) -> str:
    return "user:" + username.strip().lower()[:150]


def ip_key(ip: str) -> str:
    return "ip:" + ip


def token_key(ip: str) -> str:
    return "token-ip:" + ip


def _limit(key: str) -> int:
    if key.startswith("user:"):
        return int(settings.DMC_AUTH_USER_MAX_FAILURES)
    return int(settings.DMC_AUTH_IP_MAX_FAILURES)


def locked_until(*keys: str) -> dt.datetime | None:
    """The latest lock among ``keys`` still in force, else None."""
    now = clock.now()
    until = [
        t.locked_until
        for t in AuthThrottle.objects.filter(key__in=keys, locked_until__gt=now)
        if t.locked_until is not None
    ]
    return max(until) if until else None


def check(code: ErrorCode, *keys: str) -> None:
    """Raise ``code`` (429) while any of ``keys`` is locked, saying when to try again."""
    until = locked_until(*keys)
    if until is not None:
        seconds = max(1, int((until - clock.now()).total_seconds() + 0.999))
        raise DmcError(
            code,
            http_status=429,
            until=format_datetime_be(until.astimezone(clock.BANGKOK)),
            seconds=seconds,
        )


def _lock_for(key: str, failures: int) -> dt.timedelta | None:
    over = failures - _limit(key)
    if over < 0:
        return None
    seconds = min(
        int(settings.DMC_AUTH_LOCK_SECONDS) * (2 ** min(over, 20)),
        int(settings.DMC_AUTH_LOCK_MAX_SECONDS),
    )
    return dt.timedelta(seconds=seconds)


def record_failure(*keys: str) -> None:
    """Count one failure against each key (atomically, safe across processes)."""
    now = clock.now()
    window = dt.timedelta(seconds=int(settings.DMC_AUTH_WINDOW_SECONDS))
    for key in keys:
        with transaction.atomic():
            # a quiet key starts a new window (unless it is still locked)
            AuthThrottle.objects.filter(
                key=key, window_start__lt=now - window, last_failure_at__lt=now - window
            ).exclude(locked_until__gt=now).update(failures=0, window_start=now, locked_until=None)
            updated = AuthThrottle.objects.filter(key=key).update(
                failures=F("failures") + 1, last_failure_at=now
            )
            if not updated:
                try:
                    with transaction.atomic():
                        AuthThrottle.objects.create(
                            key=key, failures=1, window_start=now, last_failure_at=now
                        )
                except IntegrityError:  # another process created it first
                    AuthThrottle.objects.filter(key=key).update(
                        failures=F("failures") + 1, last_failure_at=now
                    )
            row = AuthThrottle.objects.get(key=key)
            lock = _lock_for(key, row.failures)
            if lock is not None:
                AuthThrottle.objects.filter(key=key).update(locked_until=now + lock)


def reset(*keys: str) -> None:
    AuthThrottle.objects.filter(key__in=keys).delete()
