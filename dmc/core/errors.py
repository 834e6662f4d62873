"""The one error model: a stable ``ErrorCode``, Thai + English messages, an HTTP status.

Every business-rule refusal anywhere (web, API, CLI, import) is a ``DmcError``. Messages are
templates with named ``{placeholders}``; tests compare codes, never message text.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from dmc.core.i18n import lang


class ErrorCode(StrEnum):
    # identity and input
    CITIZEN_ID_FORMAT = "citizen_id_format"
    CITIZEN_ID_CHECKSUM = "citizen_id_checksum"
    GCODE_FORMAT = "gcode_format"
    GCODE_PROVINCE = "gcode_province"
    DOCUMENT_TYPE = "document_type"
    DATE_FORMAT = "date_format"
    DATE_RANGE = "date_range"
    NUMBER_FORMAT = "number_format"
    CODE_UNKNOWN = "code_unknown"
    REQUIRED = "required"
    VALUE_RANGE = "value_range"
    VALIDATION = "validation"
    TITLE_SEX_AGE = "title_sex_age"
    GRADE_NOT_OFFERED = "grade_not_offered"
    ROOM_OUT_OF_RANGE = "room_out_of_range"
    # access
    NOT_AUTHENTICATED = "not_authenticated"
    NOT_IN_SCOPE = "not_in_scope"
    ROLE_NOT_ALLOWED = "role_not_allowed"
    ACCOUNT_NOT_APPROVED = "account_not_approved"
    NO_ACTIVE_ROLE = "no_active_role"
    NOT_FOUND = "not_found"
    # state and concurrency
    ENROLMENT_ACTIVE_ELSEWHERE = "enrolment_active_elsewhere"
    STUDENT_NO_TAKEN = "student_no_taken"
    PERSON_EXISTS = "person_exists"
    STALE_VERSION = "stale_version"
    WINDOW_CLOSED = "window_closed"
    ROUND_NOT_FOUND = "round_not_found"
    CITIZEN_ID_DIRECT_EDIT = "citizen_id_direct_edit"
    ALREADY_DECIDED = "already_decided"
    CLOCK_LOCKED = "clock_locked"
    USERNAME_TAKEN = "username_taken"


# code -> (Thai template, English template)
MESSAGES: dict[ErrorCode, tuple[str, str]] = {
    ErrorCode.CITIZEN_ID_FORMAT: (
        "เลขประจำตัวประชาชนต้องเป็นตัวเลข 13 หลัก (ได้รับ {length} หลัก)",
        "A citizen ID has 13 digits (got {length})",
    ),
    ErrorCode.CITIZEN_ID_CHECKSUM: (
        "เลขประจำตัวประชาชนไม่ถูกต้อง: หลักตรวจสอบ (หลักที่ 13) ควรเป็น {expected} โปรดตรวจสอบการพิมพ์",
        "Invalid citizen ID: the check digit (13th) should be {expected}; check for a typo",
    ),
    ErrorCode.GCODE_FORMAT: (
        "รหัส G ต้องเป็น G ตามด้วยตัวเลข 12 หลัก (ปี พ.ศ. 2 หลัก + รหัสจังหวัด 2 หลัก + ลำดับ 8 หลัก)",
        "A G-code is G followed by 12 digits (2-digit BE year + 2-digit province + 8-digit number)",
    ),
    ErrorCode.GCODE_PROVINCE: (
        "รหัส G มีรหัสจังหวัด {province} ซึ่งไม่มีอยู่จริง",
        "The G-code's province code {province} does not exist",
    ),
    ErrorCode.DOCUMENT_TYPE: (
        "ประเภทเอกสาร {value} ไม่ถูกต้อง (ใช้ I บัตรประชาชน, P หนังสือเดินทาง, A บัตรต่างด้าว, O ไม่มีเอกสาร)",
        "Unknown document type {value} (use I ID card, P passport, A alien card, O none)",
    ),
    ErrorCode.DATE_FORMAT: (
        "วันที่ {value} อ่านไม่ได้ ให้ใช้รูปแบบ วว/ดด/ปปปป (พ.ศ.) เช่น 05/07/2553",
        "Cannot read the date {value}; use dd/mm/yyyy (Buddhist era), e.g. 05/07/2553",
    ),
    ErrorCode.DATE_RANGE: (
        "วันที่ {value} อยู่นอกช่วงที่เป็นไปได้",
        "The date {value} is outside the possible range",
    ),
    ErrorCode.NUMBER_FORMAT: (
        "ค่า {value} ต้องเป็นตัวเลข",
        "The value {value} must be a number",
    ),
    ErrorCode.CODE_UNKNOWN: (
        "ค่า {value} ไม่อยู่ในรายการ{list_th}",
        "{value} is not in the {list_en} list",
    ),
    ErrorCode.REQUIRED: ("ต้องกรอก{field_th}", "{field_en} is required"),
    ErrorCode.VALUE_RANGE: (
        "{field_th} {value} อยู่นอกช่วงที่เป็นไปได้ ({low}–{high})",
        "{field_en} {value} is outside the plausible range ({low}–{high})",
    ),
    ErrorCode.VALIDATION: ("ข้อมูลไม่ถูกต้อง โปรดแก้ไขช่องที่ระบุ", "Invalid data; fix the fields shown"),
    ErrorCode.TITLE_SEX_AGE: (
        "คำนำหน้าชื่อ {title} ไม่สอดคล้องกับเพศและอายุ ({age} ปี) ควรเป็น {expected}",
        "The title {title} does not agree with sex and age ({age}); expected {expected}",
    ),
    ErrorCode.GRADE_NOT_OFFERED: (
        "โรงเรียนไม่ได้เปิดสอนชั้น {grade}",
        "The school does not offer grade {grade}",
    ),
    ErrorCode.ROOM_OUT_OF_RANGE: (
        "ห้อง {room} ไม่มีในชั้น {grade} (โรงเรียนมี {rooms} ห้อง)",
        "Room {room} does not exist in grade {grade} (the school has {rooms} rooms)",
    ),
    ErrorCode.NOT_AUTHENTICATED: ("กรุณาเข้าสู่ระบบ", "Please log in"),
    ErrorCode.NOT_IN_SCOPE: (
        "ไม่มีสิทธิ์เข้าถึงข้อมูลนี้ (อยู่นอกหน่วยงานของท่าน)",
        "You have no access to this record (outside your unit)",
    ),
    ErrorCode.ROLE_NOT_ALLOWED: (
        "บทบาท {role_th} ไม่สามารถทำรายการนี้ได้",
        "The role {role_en} cannot do this",
    ),
    ErrorCode.ACCOUNT_NOT_APPROVED: (
        "บัญชียังไม่ได้รับการอนุมัติ โปรดติดต่อ{approver_th}",
        "The account is not yet approved; contact {approver_en}",
    ),
    ErrorCode.NO_ACTIVE_ROLE: ("กรุณาเลือกบทบาทก่อนใช้งาน", "Choose a role first"),
    ErrorCode.NOT_FOUND: ("ไม่พบข้อมูลที่ต้องการ", "Not found"),
    ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE: (
        "นักเรียนคนนี้มีสถานะกำลังศึกษาอยู่ที่{school_th}ในปีการศึกษา {year} แล้ว"
        " (นักเรียน 1 คนมีสถานะกำลังศึกษาได้เพียง 1 โรงเรียน) โปรดประสานให้โรงเรียนเดิมย้ายออกก่อน",
        "This student is already active at {school_en} in academic year {year} (one active"
        " enrolment per student); ask that school to transfer the student out first",
    ),
    ErrorCode.STUDENT_NO_TAKEN: (
        "เลขประจำตัวนักเรียน {student_no} ถูกใช้แล้วในโรงเรียนนี้",
        "Student number {student_no} is already used in this school",
    ),
    ErrorCode.PERSON_EXISTS: (
        "มีบุคคลที่ใช้เลขประจำตัวนี้อยู่แล้วในระบบ ให้ใช้เมนูรับย้ายเข้าแทน",
        "A person with this ID already exists; use transfer-in instead",
    ),
    ErrorCode.STALE_VERSION: (
        "ข้อมูลนี้ถูกแก้ไขโดยผู้อื่นเมื่อ {changed_at} หลังจากที่ท่านเปิดหน้านี้"
        " การบันทึกของท่านยังไม่ถูกบันทึก โปรดตรวจสอบข้อมูลล่าสุดแล้วแก้ไขอีกครั้ง",
        "Someone else changed this record at {changed_at} after you opened it; your change was"
        " not saved. Review the latest data and edit again",
    ),
    ErrorCode.WINDOW_CLOSED: (
        "ขณะนี้ ({now}) ไม่อยู่ในช่วงเวลา{window_th} ซึ่งเปิดตั้งแต่ {opens} ถึง {closes}",
        "It is now {now}, outside the {window_en} window, open from {opens} to {closes}",
    ),
    ErrorCode.ROUND_NOT_FOUND: (
        "ไม่พบรอบการเก็บข้อมูลของปีการศึกษา {year}",
        "No collection round found for academic year {year}",
    ),
    ErrorCode.CITIZEN_ID_DIRECT_EDIT: (
        "แก้ไขเลขประจำตัวประชาชนโดยตรงไม่ได้ ให้ยื่นคำร้องขอแก้ไขเลขประจำตัวประชาชน",
        "A citizen ID cannot be edited directly; submit an ID-correction request",
    ),
    ErrorCode.ALREADY_DECIDED: (
        "รายการนี้ได้รับการพิจารณาไปแล้ว",
        "This request has already been decided",
    ),
    ErrorCode.CLOCK_LOCKED: (
        "ไม่สามารถตั้งเวลาของระบบได้ในระบบจริง",
        "The server clock cannot be set in production",
    ),
    ErrorCode.USERNAME_TAKEN: ("ชื่อผู้ใช้ {username} ถูกใช้แล้ว", "Username {username} is taken"),
}


class _SafeDict(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def render_message(code: ErrorCode, params: dict[str, Any], language: str | None = None) -> str:
    th, en = MESSAGES[code]
    template = en if (language or lang()) == "en" else th
    return template.format_map(_SafeDict(params))


@dataclass
class DmcError(Exception):
    """A business-rule refusal. ``fields`` maps a field name to error codes/messages for forms."""

    code: ErrorCode
    params: dict[str, Any]
    http_status: int = 400
    fields: dict[str, list[str]] | None = None

    def __init__(
        self,
        code: ErrorCode,
        http_status: int = 400,
        fields: dict[str, list[str]] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.http_status = http_status
        self.fields = fields
        self.params = params

    @property
    def message(self) -> str:
        return render_message(self.code, self.params)

    def message_in(self, language: str) -> str:
        return render_message(self.code, self.params, language)

    def __str__(self) -> str:
        return f"[{self.code.value}] {self.message_in('en')}"

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code.value, "message": self.message, "fields": self.fields or {}}


def not_found() -> DmcError:
    return DmcError(ErrorCode.NOT_FOUND, http_status=404)


def not_in_scope() -> DmcError:
    return DmcError(ErrorCode.NOT_IN_SCOPE, http_status=403)


def conflict(code: ErrorCode, **params: Any) -> DmcError:
    return DmcError(code, http_status=409, **params)


class Collector:
    """Run several checks, gather every refusal, then raise one error (or none).

    One refusal is re-raised as itself (its specific code); several become VALIDATION with the
    per-field messages merged and the individual errors kept in ``errors``.
    """

    def __init__(self) -> None:
        self.errors: list[DmcError] = []

    def check(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except DmcError as exc:
            # a combined error from a nested collector contributes its parts
            self.errors.extend(getattr(exc, "errors", None) or [exc])
            return None

    def raise_if_any(self) -> None:
        if not self.errors:
            return
        merged: dict[str, list[str]] = {}
        for err in self.errors:
            for name in err.fields or {"__all__": []}:
                merged.setdefault(name, []).append(err.message)
        if len(self.errors) == 1:
            err = self.errors[0]
            err.fields = merged
            raise err
        combined = DmcError(ErrorCode.VALIDATION, http_status=400, fields=merged)
        combined.errors = self.errors  # type: ignore[attr-defined]
        raise combined
