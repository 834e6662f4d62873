"""A logging filter that masks 13-digit identifiers (PDPA: no citizen IDs in application logs)."""

from __future__ import annotations

import logging
import re

_ID = re.compile(r"(?<![0-9])[0-9๐-๙](?:[\s-]?[0-9๐-๙]){12}(?![0-9])|G[0-9]{12}")


def mask(text: str) -> str:
    return _ID.sub("[ID]", text)


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True
