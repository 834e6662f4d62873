"""Bilingual text: Thai first, English second, kept side by side.

We keep each user-facing string as a (Thai, English) pair next to the code that uses it instead of
gettext catalogues: a page can never ship with a missing translation, and no compile step is needed
on a fresh machine. The active language is Django's (set by ``LanguageMiddleware``).
"""

from __future__ import annotations

from django.utils import translation


def lang() -> str:
    """The active UI language, ``"th"`` or ``"en"``."""
    code = translation.get_language() or "th"
    return "en" if code.startswith("en") else "th"


def tr(th: str, en: str) -> str:
    """Pick the Thai or English text for the active language."""
    return en if lang() == "en" else th
