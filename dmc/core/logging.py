"""A logging filter that masks 13-digit identifiers (PDPA: no citizen IDs in application logs).

Defence in depth: the code never logs names or IDs; this masks any 13-digit run (with or without
separators, Thai or Arabic digits) and G-codes in the message and in a traceback's text.
"""

from __future__ import annotations

import logging
import re

_ID = re.compile(r"(?<![0-9])[0-9๐-๙](?:[\s-]?[0-9๐-๙]){12}(?![0-9])|G[0-9]{12}")
_FORMATTER = logging.Formatter()


def mask(text: str) -> str:
    return _ID.sub("[ID]", text)


class MaskPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # formatters print exc_text when it is set: the masked traceback
            record.exc_text = _FORMATTER.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True
