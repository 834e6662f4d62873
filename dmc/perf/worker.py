"""A gunicorn gthread worker that remembers when each request was queued for a thread.

With threads, a request waits in the worker's thread-pool queue before any Django code sees it;
when offered load exceeds capacity that queue (not the app) is where latency grows. This worker
stamps the moment a connection's request is handed to the pool, and ``queued_seconds()`` lets
the admission middleware refuse at once a request that already waited longer than
``DMC_ADMIT_MAX_QUEUE_MS`` (it would only add to the backlog; the client has been told to come
back after Retry-After), so the queue drains fast and admitted requests stay fast (a CoDel-like
queue-age limit). Use with ``--worker-class dmc.perf.worker.QueueAwareThreadWorker``; under any
other server ``queued_seconds()`` is 0 and only the concurrency limit applies.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

_local = threading.local()


def queued_seconds() -> float:
    """How long the request this thread is handling waited for a thread (0 when unknown)."""
    at = getattr(_local, "enqueued", None)
    return 0.0 if at is None else max(0.0, time.monotonic() - at)


class QueueAwareThreadWorker(ThreadWorker):  # type: ignore[misc]
    def enqueue_req(self, conn: Any) -> None:
        conn.dmc_enqueued = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        _local.enqueued = getattr(conn, "dmc_enqueued", None)
        try:
            return super().handle(conn)
        finally:
            _local.enqueued = None
