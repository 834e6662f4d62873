"""Code lists as versioned data (``data/codelists.json``), never scattered literals.

``CODES["religion"].label("001")`` -> "พุทธ"; ``.lookup("พุทธ")`` accepts a code, a Thai or English
label, or the DMC file form (``ช``/``ญ`` for sex), and returns the code or ``None``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_DATA = json.loads((Path(__file__).parent / "data" / "codelists.json").read_text("utf-8"))
VERSION: str = _DATA["version"]


@dataclass(frozen=True)
class CodeList:
    name: str
    entries: tuple[dict[str, Any], ...]
    _by_code: dict[str, dict[str, Any]] = field(default_factory=dict, compare=False)
    _by_any: dict[str, str] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        for e in self.entries:
            self._by_code[e["code"]] = e
            for key in (e["code"], e["th"], e["en"], e.get("file")):
                if key:
                    self._by_any.setdefault(str(key).strip().casefold(), e["code"])

    def __contains__(self, code: object) -> bool:
        return code in self._by_code

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.entries)

    def get(self, code: str) -> dict[str, Any] | None:
        return self._by_code.get(code)

    def label(self, code: str | None, language: str = "th") -> str:
        entry = self._by_code.get(code or "")
        return str(entry[language]) if entry else ""

    def lookup(self, value: object) -> str | None:
        if value is None:
            return None
        return self._by_any.get(str(value).strip().casefold())

    def choices(self, language: str = "th") -> list[tuple[str, str]]:
        return [(e["code"], e[language]) for e in self.entries]


CODES: dict[str, CodeList] = {
    name: CodeList(name, tuple(entries)) for name, entries in _DATA["lists"].items()
}
PROVINCES = CODES["province"]
GRADES = CODES["grade"]
TITLES = CODES["title"]
TERMINAL_GRADES = frozenset(e["code"] for e in GRADES if e["terminal"])


def grade_label(code: str, language: str = "th") -> str:
    return GRADES.label(code, language)
