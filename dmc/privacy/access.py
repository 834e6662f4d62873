"""Purpose-gated reads of identifiable student data and the access log (PDPA, issue 9).

An area officer or OBEC administrator who opens a school's student list, a student's record or
a student's access report states a purpose once per session and school (a code from
``PURPOSES``, plus a description for 99 "other"). Every such read is then an ``AccessEvent``
row: who, in which role, which school / enrolment / person, the purpose, when. School staff
reading their own school are not asked (it is their own task) and not logged per read; exports
are logged for everyone (``students_export``). Over the API the purpose travels as the query
parameters ``purpose_code`` and ``purpose_text`` (or comes from the web session).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dmc.accounts.actor import Actor
from dmc.core import clock
from dmc.core.errors import DmcError, ErrorCode
from dmc.core.i18n import lang
from dmc.core.models import AccessEvent
from dmc.core.normalize import clean_text

SESSION_KEY = "dmc_purposes"
TEXT_MAX = 300
OTHER = "99"

#: purpose code -> (Thai, English)
PURPOSES: dict[str, tuple[str, str]] = {
    "01": ("ตรวจสอบและแก้ไขความถูกต้องของข้อมูล", "Checking and correcting the data"),
    "02": (
        "ติดตามการย้าย การออกกลางคัน หรือเด็กตกหล่น",
        "Following up a transfer, a dropout or an out-of-school child",
    ),
    "03": ("พิจารณาคำร้อง", "Deciding a case or request"),
    "04": ("จัดสรรงบประมาณ ทุน หรือสวัสดิการ", "Budget, grants or welfare"),
    "05": ("ตอบคำขอของนักเรียนหรือผู้ปกครอง", "A request from the student or guardian"),
    "06": ("ตรวจสอบตามกฎหมายหรือคำสั่งของหน่วยงานรัฐ", "A legal or official audit"),
    OTHER: ("อื่น ๆ (โปรดระบุ)", "Other (describe)"),
}


@dataclass(frozen=True)
class Purpose:
    code: str
    text: str = ""

    def label(self) -> str:
        th, en = PURPOSES.get(self.code, (self.code, self.code))
        base = en if lang() == "en" else th
        return f"{self.code} {base}" + (f": {self.text}" if self.text else "")


def purpose_required(actor: Actor) -> bool:
    """Area offices and OBEC read other units' children: they state why (PDPA s.21, s.22)."""
    return not actor.is_school


def parse_purpose(code: str | None, text: str | None) -> Purpose:
    """A valid purpose or ACCESS_PURPOSE_REQUIRED (400) naming the codes."""
    code = (code or "").strip()
    text = clean_text(text or "")[:TEXT_MAX]
    if code not in PURPOSES or (code == OTHER and not text):
        raise DmcError(
            ErrorCode.ACCESS_PURPOSE_REQUIRED,
            http_status=400,
            fields={"purpose_code": ["required"]},
            codes=", ".join(PURPOSES),
        )
    return Purpose(code, text)


def session_purpose(request: HttpRequest, school_id: int) -> Purpose | None:
    session = getattr(request, "session", None)
    if session is None:
        return None
    raw = (session.get(SESSION_KEY) or {}).get(str(school_id))
    if not raw:
        return None
    return Purpose(raw.get("code", ""), raw.get("text", ""))


def remember(request: HttpRequest, school_id: int, purpose: Purpose) -> None:
    purposes = dict(request.session.get(SESSION_KEY) or {})
    purposes[str(school_id)] = {"code": purpose.code, "text": purpose.text}
    request.session[SESSION_KEY] = purposes


def forget_all(request: HttpRequest) -> None:
    """On a role switch: the new role states its own purposes."""
    request.session.pop(SESSION_KEY, None)


def web_gate(
    request: HttpRequest, actor: Actor, school_id: int, smis_code: str
) -> Purpose | HttpResponse | None:
    """For a page showing identifiable data of ``school_id``: None for school staff, the
    session's purpose, or a response sending the user to the purpose form (and back)."""
    if not purpose_required(actor):
        return None
    purpose = session_purpose(request, school_id)
    if purpose is not None:
        return purpose
    url = (
        reverse("access-purpose")
        + "?"
        + urlencode({"school": smis_code, "next": request.get_full_path()})
    )
    if getattr(request, "htmx", False):
        from django_htmx.http import HttpResponseClientRedirect

        return HttpResponseClientRedirect(url)
    return redirect(url)


def api_purpose(request: HttpRequest, actor: Actor, school_id: int) -> Purpose | None:
    """For an API read: None for school staff, else ``purpose_code``/``purpose_text`` from the
    query, or the web session's purpose for this school; raises ACCESS_PURPOSE_REQUIRED."""
    if not purpose_required(actor):
        return None
    code = request.GET.get("purpose_code")
    if code is None:
        purpose = session_purpose(request, school_id)
        if purpose is not None:
            return purpose
    return parse_purpose(code, request.GET.get("purpose_text"))


def record(
    *,
    actor: Actor,
    kind: str,
    school_id: int,
    purpose: Purpose | None,
    enrolment_id: int | None = None,
    person_pk: int | None = None,
    academic_year: int | None = None,
    rows: int = 1,
) -> AccessEvent:
    event = AccessEvent(
        at=clock.now(),
        actor=actor.user,
        actor_role=actor.role,
        actor_school_id=actor.school_id,
        actor_area_id=actor.area_id,
        kind=kind,
        school_id=school_id,
        enrolment_id=enrolment_id,
        person_pk=person_pk,
        academic_year=academic_year,
        rows=rows,
        purpose_code=purpose.code if purpose else "",
        purpose_text=purpose.text if purpose else "",
    )
    event.save(force_insert=True)
    return event


def record_if_gated(
    *,
    actor: Actor,
    kind: str,
    school_id: int,
    purpose: Purpose | None,
    **kwargs: object,
) -> None:
    """Log a read by an area office or OBEC (school staff's own reads are not logged per read)."""
    if purpose_required(actor):
        record(actor=actor, kind=kind, school_id=school_id, purpose=purpose, **kwargs)  # type: ignore[arg-type]
