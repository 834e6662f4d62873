from __future__ import annotations

from ninja import Schema


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}
ERRORS.update({429: ErrorOut, 503: ErrorOut})  # issue 8: rate limited / server busy (Retry-After)

MAX_ID = 2**62
