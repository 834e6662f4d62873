from __future__ import annotations

from ninja import Schema


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


# issue 8: any request may be rate limited (429) or shed when the server is busy (503), with
# Retry-After; every operation documents both
BUSY = {429: ErrorOut, 503: ErrorOut}
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
ERRORS.update(BUSY)

MAX_ID = 2**62
