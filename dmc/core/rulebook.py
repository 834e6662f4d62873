"""The rules of the seed letter (L1-L10) and of DMC practice (D1-D8): one registry.

Each rule has an ID, the error code(s) it refuses with, a severity, and Thai/English titles and
fixes. The checks themselves are pure functions in the apps' ``rules.py``/``checks.py``; this file
is where a rule is *named*, so forms, the API, imports and the pre-confirmation checklist all
speak of the same rule the same way. ``CHECKS`` are the per-student and per-school conditions the
checklist counts (a rule may have several, with their own severities).

Severities (SPEC §5, England's model): ``error`` blocks confirmation; ``query`` blocks until it
is fixed or explained in a note; ``warning`` and ``info`` never block.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from dmc.core.errors import ErrorCode
from dmc.core.i18n import lang


class Severity(StrEnum):
    ERROR = "error"
    QUERY = "query"
    WARNING = "warning"
    INFO = "info"


SEVERITY_LABELS = {
    Severity.ERROR: ("ต้องแก้ไข", "Must fix"),
    Severity.QUERY: ("ต้องแก้ไขหรืออธิบาย", "Fix or explain"),
    Severity.WARNING: ("คำเตือน", "Warning"),
    Severity.INFO: ("ข้อมูล", "Information"),
}


@dataclass(frozen=True)
class Rule:
    id: str
    codes: tuple[ErrorCode, ...]
    severity: Severity
    th: str
    en: str
    source: str  # "seed letter" | "DMC practice"

    @property
    def title(self) -> str:
        return self.en if lang() == "en" else self.th


RULES: dict[str, Rule] = {
    r.id: r
    for r in (
        Rule(
            "L1",
            (ErrorCode.CITIZEN_ID_DIRECT_EDIT, ErrorCode.ID_CORRECTION_CLOSED),
            Severity.ERROR,
            "แก้ไขเลขประจำตัวประชาชนผ่านคำร้องเท่านั้น ภายในกำหนด",
            "Citizen IDs change only through a correction request, before the deadline",
            "seed letter",
        ),
        Rule(
            "L2",
            (ErrorCode.NOT_EXAM_TAKER,),
            Severity.ERROR,
            "ข้อมูลสิ้นปีมีเฉพาะนักเรียนที่เข้าสอบปลายภาคที่โรงเรียน",
            "The end-of-year roster is only students who sat the final exam here",
            "seed letter",
        ),
        Rule(
            "L3",
            (ErrorCode.MEASURE_MISSING, ErrorCode.MEASURE_IMPLAUSIBLE, ErrorCode.HEIGHT_DROP),
            Severity.ERROR,
            "บันทึกน้ำหนักและส่วนสูงของนักเรียนทุกคนที่เรียนอยู่จริง",
            "Weight and height for every student physically studying here",
            "seed letter",
        ),
        Rule(
            "L4",
            (ErrorCode.NEXT_YEAR_APPLICANT,),
            Severity.ERROR,
            "ห้ามบันทึกนักเรียนที่สมัครเรียนปีการศึกษาถัดไปในรอบสิ้นปี",
            "No applicants for the next year in the end-of-year round",
            "seed letter",
        ),
        Rule(
            "L5",
            (ErrorCode.ADD_NOT_EXAM_TAKER,),
            Severity.ERROR,
            "รอบสิ้นปี รับย้ายเข้า/เพิ่มเฉพาะผู้ที่สอบปลายภาคกับโรงเรียน",
            "End of year: add/transfer in only students who sat the final exam here",
            "seed letter",
        ),
        Rule(
            "L6",
            (ErrorCode.LEFT_AFTER_EXAM,),
            Severity.ERROR,
            "รอบสิ้นปี ย้ายออก/จำหน่ายเฉพาะผู้ที่ออกก่อนสอบปลายภาค",
            "End of year: transfer out/withdraw only students who left before the exam",
            "seed letter",
        ),
        Rule(
            "L7",
            (ErrorCode.DROPOUT_NOT_APPROVED,),
            Severity.ERROR,
            "ออกกลางคันต้องผ่านความเห็นชอบของเขตพื้นที่",
            "A dropout needs the area office's approval first",
            "seed letter",
        ),
        Rule(
            "L8",
            (
                ErrorCode.YEAR_END_ORDER,
                ErrorCode.WINDOW_CLOSED,
                ErrorCode.YEAR_RESULT_REQUIRED,
                ErrorCode.YEARS_STUDIED_RANGE,
                ErrorCode.EVALUATIONS_REQUIRED,
                ErrorCode.DESTINATION_REQUIRED,
                ErrorCode.YEAR_END_TRACKED,
                ErrorCode.NOT_REPEATER,
                ErrorCode.NOT_GRADUATE,
            ),
            Severity.ERROR,
            "เมนูสิ้นปี 3.2.2 → 3.2.2.1 → 3.2.2.2 ตามลำดับ ตั้งแต่วันที่เปิดเมนู",
            "Year-end menus 3.2.2 → 3.2.2.1 → 3.2.2.2 in order, from their opening date",
            "seed letter",
        ),
        Rule(
            "L9",
            (ErrorCode.TRACKED_CANNOT_WITHDRAW,),
            Severity.INFO,
            "นักเรียน 3.1.8 (ยังไม่สามารถจำหน่ายได้) แสดงและนับแยก จำหน่ายไม่ได้",
            "3.1.8 students are shown and counted separately and cannot be withdrawn",
            "seed letter",
        ),
        Rule(
            "L10",
            (ErrorCode.CONFIRM_WINDOW_CLOSED,),
            Severity.ERROR,
            "ยืนยัน/รับรองข้อมูลได้เฉพาะในช่วงเวลาที่กำหนด สิ้นสุดแล้วระบบปิดรับข้อมูล",
            "Confirm/certify only inside the confirm window; then the round stops changes",
            "seed letter",
        ),
        Rule(
            "D1",
            (ErrorCode.ENROLMENT_ACTIVE_ELSEWHERE,),
            Severity.ERROR,
            "นักเรียน 1 คนมีสถานะกำลังศึกษาได้ 1 โรงเรียนต่อปีการศึกษา",
            "One active enrolment per student per academic year, nationally",
            "DMC practice",
        ),
        Rule(
            "D2",
            (ErrorCode.GRADE_CHANGE_REASON,),
            Severity.ERROR,
            "เปลี่ยนชั้น/ห้องเป็นการแก้ไขพร้อมเหตุผล การเลื่อนชั้นทำเมื่อขึ้นปีการศึกษาใหม่",
            "Grade/room changes are corrections with a reason; promotion only by rollover",
            "DMC practice",
        ),
        Rule(
            "D3",
            (ErrorCode.GRADUATE_NOT_WITHDRAWN,),
            Severity.ERROR,
            "ผู้จบการศึกษาไม่จำหน่าย บันทึกในเมนูสิ้นปี",
            "Graduates are never withdrawn; the year-end menus handle them",
            "DMC practice",
        ),
        Rule(
            "D4",
            (ErrorCode.AGE_NOT_COUNTED,),
            Severity.WARNING,
            "ไม่นับนักเรียนอายุต่ำกว่า 4 ปีหรือเกิน 20 ปี (ณ 16 พ.ค.) ยังแสดงในรายชื่อพร้อมเครื่องหมาย",
            "Students under 4 or over 20 (at 16 May) stay listed, flagged, and are not counted",
            "DMC practice",
        ),
        Rule(
            "D5",
            (ErrorCode.TITLE_SEX_AGE,),
            Severity.ERROR,
            "คำนำหน้าชื่อสอดคล้องกับเพศและอายุ",
            "Title agrees with sex and age",
            "DMC practice",
        ),
        Rule(
            "D6",
            (ErrorCode.ROOMS_MISMATCH,),
            Severity.ERROR,
            "ชั้นที่มีนักเรียนมีอย่างน้อย 1 ห้อง ชั้นที่ไม่มีนักเรียนมี 0 ห้อง",
            "A grade with students has ≥ 1 room; a grade without students has 0",
            "DMC practice",
        ),
        Rule(
            "D7",
            (
                ErrorCode.CERTIFIER_SAME_PERSON,
                ErrorCode.SELF_CANCEL_PASSED,
                ErrorCode.NOT_CONFIRMED,
            ),
            Severity.ERROR,
            "ยืนยัน (เจ้าหน้าที่) และรับรอง (ผู้บริหาร) โดยคนละคน ยกเลิกเองได้ถึงกำหนด",
            "Confirm (officer) and certify (director) by different people; self-cancel until"
            " the deadline",
            "DMC practice",
        ),
        Rule(
            "D8",
            (ErrorCode.CONFIRMED_READ_ONLY,),
            Severity.ERROR,
            "ข้อมูลที่ยืนยันแล้วแก้ไขไม่ได้จนกว่าจะยกเลิกการยืนยัน ทุกการยืนยันและการปิดรอบมีสแนปช็อต",
            "Confirmed data is read-only until cancelled; confirmation and close seal a snapshot",
            "DMC practice",
        ),
    )
}


@dataclass(frozen=True)
class Check:
    """One condition the pre-confirmation checklist counts, belonging to a rule."""

    key: str
    rule: str
    severity: Severity
    th: str
    en: str
    fix_th: str
    fix_en: str

    @property
    def title(self) -> str:
        return self.en if lang() == "en" else self.th

    @property
    def fix(self) -> str:
        return self.fix_en if lang() == "en" else self.fix_th

    @property
    def blocking(self) -> bool:
        return self.severity in (Severity.ERROR, Severity.QUERY)


CHECKS: dict[str, Check] = {
    c.key: c
    for c in (
        Check(
            "L3.weight_missing",
            "L3",
            Severity.ERROR,
            "ไม่มีน้ำหนัก",
            "No weight",
            "บันทึกน้ำหนัก (กก.) ในหน้าข้อมูลนักเรียน",
            "Enter the weight (kg) on the student page",
        ),
        Check(
            "L3.height_missing",
            "L3",
            Severity.ERROR,
            "ไม่มีส่วนสูง",
            "No height",
            "บันทึกส่วนสูง (ซม.) ในหน้าข้อมูลนักเรียน",
            "Enter the height (cm) on the student page",
        ),
        Check(
            "L3.weight_implausible",
            "L3",
            Severity.ERROR,
            "น้ำหนักไม่สมเหตุสมผลกับอายุ",
            "Weight implausible for age",
            "ตรวจสอบหน่วย (กก.) และการพิมพ์ แล้วแก้ไข",
            "Check the unit (kg) and typing, then correct it",
        ),
        Check(
            "L3.height_implausible",
            "L3",
            Severity.ERROR,
            "ส่วนสูงไม่สมเหตุสมผลกับอายุ",
            "Height implausible for age",
            "ตรวจสอบหน่วย (ซม.) และการพิมพ์ แล้วแก้ไข",
            "Check the unit (cm) and typing, then correct it",
        ),
        Check(
            "L3.height_drop",
            "L3",
            Severity.QUERY,
            "ส่วนสูงลดลงจากปีก่อน",
            "Height lower than last year",
            "ตรวจสอบการวัดใหม่ หรืออธิบายเหตุผล",
            "Re-measure, or explain why",
        ),
        Check(
            "D5.title",
            "D5",
            Severity.ERROR,
            "คำนำหน้าชื่อไม่ตรงกับเพศ/อายุ",
            "Title does not match sex/age",
            "แก้คำนำหน้าชื่อ (ต่ำกว่า 15 ปี เด็กชาย/เด็กหญิง)",
            "Correct the title (under 15: เด็กชาย/เด็กหญิง)",
        ),
        Check(
            "D4.age",
            "D4",
            Severity.WARNING,
            "อายุไม่อยู่ในเกณฑ์นับ (4–20 ปี)",
            "Age outside the counted range (4–20)",
            "ตรวจสอบวันเกิด หากถูกต้องแล้วไม่ต้องแก้ไข (ไม่นับในยอดทางการ)",
            "Check the birth date; if right, nothing to do (not counted officially)",
        ),
        Check(
            "L8.result_pending",
            "L8",
            Severity.ERROR,
            "ยังไม่บันทึกผลการเรียนสิ้นปี (เมนู 3.2.2)",
            "Year-end result not entered (menu 3.2.2)",
            "บันทึกผลสอบได้/สอบตก และจำนวนปีที่เรียน ในเมนู 3.2.2",
            "Enter passed/failed and years studied in menu 3.2.2",
        ),
        Check(
            "L8.evaluations_missing",
            "L8",
            Severity.ERROR,
            "นักเรียนซ้ำชั้นยังไม่ระบุเกณฑ์ที่ไม่ผ่าน (เมนู 3.2.2.1)",
            "Repeater without the evaluations not passed (menu 3.2.2.1)",
            "เลือกเกณฑ์การประเมินที่ไม่ผ่านอย่างน้อยหนึ่งข้อ ในเมนู 3.2.2.1",
            "Choose at least one evaluation not passed in menu 3.2.2.1",
        ),
        Check(
            "L8.destination_missing",
            "L8",
            Severity.ERROR,
            "ผู้จบการศึกษายังไม่ระบุการศึกษาต่อ/ปลายทาง (เมนู 3.2.2.2)",
            "Graduate without a destination (menu 3.2.2.2)",
            "เลือกการศึกษาต่อหรือปลายทางของผู้จบการศึกษา ในเมนู 3.2.2.2",
            "Choose the graduate's destination in menu 3.2.2.2",
        ),
        Check(
            "L9.tracked",
            "L9",
            Severity.INFO,
            "นักเรียน 3.1.8 (ยังไม่สามารถจำหน่ายได้)",
            "Students flagged 3.1.8",
            "ติดตามนักเรียนต่อไป นับแยกจากนักเรียนปกติ",
            "Keep following them up; they are counted separately",
        ),
        Check(
            "D6.rooms",
            "D6",
            Severity.ERROR,
            "จำนวนห้องไม่สอดคล้องกับจำนวนนักเรียน",
            "Rooms do not match students",
            "แก้จำนวนห้องเรียนในหน้าข้อมูลโรงเรียน",
            "Correct the rooms per grade on the school data page",
        ),
    )
}


def severity_label(severity: Severity) -> str:
    th, en = SEVERITY_LABELS[severity]
    return en if lang() == "en" else th
