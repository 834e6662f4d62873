"""The student edit form: field specs (Thai/English labels, code lists) and edge parsing.

Parsing uses the shared normalisers; the rules themselves run in the service, so the form, the
API and the import refuse the same things with the same codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms

from dmc.core.audit import action_label
from dmc.core.codes import CODES
from dmc.core.errors import Collector, DmcError
from dmc.core.i18n import lang, tr
from dmc.core.normalize import parse_date, parse_decimal
from dmc.core.thai import format_date_be
from dmc.students.models import Enrolment


@dataclass(frozen=True)
class FieldSpec:
    name: str
    th: str
    en: str
    codes: str | None = None
    kind: str = "text"  # text | date | decimal
    group: str = "person"

    def label(self) -> str:
        return self.en if lang() == "en" else self.th


SPECS: tuple[FieldSpec, ...] = (
    FieldSpec("student_no", "เลขประจำตัวนักเรียน", "Student number", group="enrolment"),
    FieldSpec("title_code", "คำนำหน้าชื่อ", "Title", "title"),
    FieldSpec("first_name", "ชื่อ", "First name"),
    FieldSpec("last_name", "นามสกุล", "Last name"),
    FieldSpec("sex", "เพศ", "Sex", "sex"),
    FieldSpec("birth_date", "วันเกิด (วว/ดด/ปปปป พ.ศ.)", "Birth date (dd/mm/yyyy BE)", kind="date"),
    FieldSpec("weight_kg", "น้ำหนัก (กก.)", "Weight (kg)", kind="decimal", group="health"),
    FieldSpec("height_cm", "ส่วนสูง (ซม.)", "Height (cm)", kind="decimal", group="health"),
    FieldSpec("blood", "กลุ่มเลือด", "Blood group", "blood"),
    FieldSpec("religion", "ศาสนา", "Religion", "religion"),
    FieldSpec("race", "เชื้อชาติ", "Ethnicity", "nationality"),
    FieldSpec("nationality", "สัญชาติ", "Nationality", "nationality"),
    FieldSpec("house_no", "บ้านเลขที่", "House no.", group="address"),
    FieldSpec("moo", "หมู่", "Moo", group="address"),
    FieldSpec("street", "ถนน/ซอย", "Road/soi", group="address"),
    FieldSpec("subdistrict", "ตำบล", "Sub-district", group="address"),
    FieldSpec("district", "อำเภอ", "District", group="address"),
    FieldSpec("province", "จังหวัด", "Province", group="address"),
    FieldSpec("guardian_first_name", "ชื่อผู้ปกครอง", "Guardian first name", group="family"),
    FieldSpec("guardian_last_name", "นามสกุลผู้ปกครอง", "Guardian last name", group="family"),
    FieldSpec(
        "guardian_occupation", "อาชีพผู้ปกครอง", "Guardian occupation", "occupation", group="family"
    ),
    FieldSpec(
        "guardian_relation",
        "ความเกี่ยวข้องกับนักเรียน",
        "Relation to student",
        "relation",
        group="family",
    ),
    FieldSpec("father_first_name", "ชื่อบิดา", "Father first name", group="family"),
    FieldSpec("father_last_name", "นามสกุลบิดา", "Father last name", group="family"),
    FieldSpec("father_occupation", "อาชีพบิดา", "Father occupation", "occupation", group="family"),
    FieldSpec("mother_first_name", "ชื่อมารดา", "Mother first name", group="family"),
    FieldSpec("mother_last_name", "นามสกุลมารดา", "Mother last name", group="family"),
    FieldSpec("mother_occupation", "อาชีพมารดา", "Mother occupation", "occupation", group="family"),
    FieldSpec("disadvantaged", "ความด้อยโอกาส", "Disadvantaged", "disadvantaged", group="other"),
    FieldSpec("disability", "ความพิการ", "Disability", "disability", group="other"),
    FieldSpec("scout", "ลูกเสือ/เนตรนารี", "Scout", "scout", group="other"),
    FieldSpec("redcross", "ยุวกาชาด", "Red Cross youth", "redcross", group="other"),
    FieldSpec("swimming", "ทักษะการว่ายน้ำ", "Swimming", "swimming", group="other"),
)
SPEC_BY_NAME = {s.name: s for s in SPECS}
GROUPS = (
    ("enrolment", "การลงทะเบียน", "Enrolment"),
    ("person", "ข้อมูลบุคคล", "Person"),
    ("health", "สุขภาพ", "Health"),
    ("address", "ที่อยู่ตามทะเบียนบ้าน", "Registered address"),
    ("family", "ครอบครัวและผู้ปกครอง", "Family and guardian"),
    ("other", "ข้อมูลอื่น", "Other"),
)


class StudentForm(forms.Form):
    person_version = forms.IntegerField(widget=forms.HiddenInput)
    enrolment_version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        language = lang()
        for spec in SPECS:
            if spec.codes:
                blank = [("", "-")] if spec.codes not in ("title", "sex") else []
                field: forms.Field = forms.ChoiceField(
                    choices=blank + CODES[spec.codes].choices(language), required=False
                )
            else:
                field = forms.CharField(required=False, max_length=150)
            field.label = spec.label()
            self.fields[spec.name] = field

    def grouped(self) -> list[tuple[str, list[forms.BoundField]]]:
        language = lang()
        return [
            (en if language == "en" else th, [self[s.name] for s in SPECS if s.group == key])
            for key, th, en in GROUPS
        ]

    def changes(self) -> dict[str, Any]:
        """Parse into typed values; collect parse errors on the form and return the dict."""
        data = self.cleaned_data
        out: dict[str, Any] = {}
        c = Collector()
        for spec in SPECS:
            raw = data.get(spec.name, "")
            if spec.kind == "date":
                out[spec.name] = c.check(parse_date, raw, field=spec.name)
            elif spec.kind == "decimal":
                out[spec.name] = c.check(parse_decimal, raw, field=spec.name)
            else:
                out[spec.name] = raw
        for err in c.errors:
            for name in err.fields or {}:
                self.add_error(name if name in self.fields else None, err.message)
        return out


def initial_for(enrolment: Enrolment) -> dict[str, Any]:
    person = enrolment.person
    data: dict[str, Any] = {
        "person_version": person.version,
        "enrolment_version": enrolment.version,
    }
    for spec in SPECS:
        source = enrolment if spec.group in ("enrolment", "health") else person
        value = getattr(source, spec.name)
        if spec.kind == "date" and value:
            value = format_date_be(value)
        data[spec.name] = "" if value is None else str(value)
    return data


def display_value(name: str, value: object) -> str:
    """A stored field value as the user reads it: code labels, BE dates, "-" for blank."""
    if value in (None, ""):
        return "-"
    spec = SPEC_BY_NAME.get(name)
    if spec is not None and spec.codes:
        return CODES[spec.codes].label(str(value), lang()) or str(value)
    if spec is not None and spec.kind == "date":
        try:
            return format_date_be(parse_date(value))
        except DmcError:
            return str(value)
    return str(value)


def history_rows(events: list[Any]) -> list[dict[str, Any]]:
    """Audit events as rows for the student page: when, who, what, field: before -> after."""
    language = lang()
    rows = []
    for event in events:
        names = list(event.after) if event.action.endswith(".update") else []
        rows.append(
            {
                "at": event.at,
                "who": (
                    f"{event.actor.first_name} {event.actor.last_name}".strip()
                    if event.actor
                    else tr("ระบบ", "System")
                ),
                "what": action_label(event.action, language),
                "changes": [
                    (
                        SPEC_BY_NAME[n].label() if n in SPEC_BY_NAME else n,
                        display_value(n, event.before.get(n)),
                        display_value(n, event.after.get(n)),
                    )
                    for n in names
                ],
            }
        )
    return rows
