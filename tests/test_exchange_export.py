"""Data exchange (issue 6): the 39-column export (CSV/XLSX), the per-school template, report
tables as XLSX and the public statistics.

Each test says exactly what comes out: the bytes of an exported row, the neutralised cells, who
may export what (status codes and the audit trail), the template's validations and the public
statistics' shape, suppression, source and caching."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from dmc.accounts.actor import Actor
from dmc.accounts.services import token_create
from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.core.codes import CODES, GRADES
from dmc.core.models import AuditEvent
from dmc.demo import synth
from dmc.exchange import public
from dmc.exchange.format import HEADER, dmc_row, list_values, neutralise
from dmc.exchange.xlsx import write_table
from dmc.rounds import services as rs
from dmc.rounds.models import Round, Snapshot
from dmc.schools.models import School
from dmc.schools.services import school_grades_update
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World, login, make_citizen_id, state_purpose

BOM = "\ufeff"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# --- helpers ------------------------------------------------------------------------------------


def token_client(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def body(response: Any) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return bytes(response.content)


def csv_rows(source: Any) -> list[list[str]]:
    """The rows of a CSV export (a response, or its bytes), after checking the BOM."""
    text = (source if isinstance(source, bytes) else body(source)).decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[1:], newline="")))


def xlsx_rows(content: bytes, sheet: str | None = None) -> list[list[Any]]:
    wb = load_workbook(io.BytesIO(content))
    ws = wb[sheet] if sheet else wb.worksheets[0]
    return [list(row) for row in ws.iter_rows(values_only=True)]


def export_events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="export.students").order_by("id"))


FULL_PERSON: dict[str, Any] = {
    "title_code": "002",
    "first_name": "มะลิ",
    "last_name": "ศรีสุข",
    "sex": "F",
    "birth_date": dt.date(2012, 7, 5),
    "blood": "AB",
    "religion": "001",
    "race": "099",
    "nationality": "099",
    "house_no": "12/3",
    "moo": "4",
    "street": "-",
    "subdistrict": "บางรัก",
    "district": "เมือง",
    "province": "เลย",
    "guardian_first_name": "สมศรี",
    "guardian_last_name": "ศรีสุข",
    "guardian_occupation": "1",
    "guardian_relation": "02",
    "father_first_name": "สมชาย",
    "father_last_name": "ศรีสุข",
    "father_occupation": "2",
    "mother_first_name": "สมศรี",
    "mother_last_name": "ศรีสุข",
    "mother_occupation": "1",
    "disadvantaged": "09",
    "scout": "1",
    "redcross": "2",
    "swimming": "1",
}


def full_student(world: World) -> Enrolment:
    return world.add_student(
        world.school_a1,
        grade="06",
        room=2,
        person_id=make_citizen_id(1_234_567),
        **FULL_PERSON,
    )


def expected_row(pid: str, student_no: str) -> list[str]:
    return [
        "10010001",
        "โรงเรียนบ้านหนึ่ง",
        pid,
        "ป.3",
        "2",
        student_no,
        "ญ",
        "เด็กหญิง",
        "มะลิ",
        "ศรีสุข",
        "05/07/2555",
        "9",  # at 31/03/2565, the as-of date of round 3 of 2564
        "30.5",
        "135.0",
        "AB",
        "พุทธ",
        "ไทย",
        "ไทย",
        "12/3",
        "4",
        "-",
        "บางรัก",
        "เมือง",
        "เลย",
        "สมศรี",
        "ศรีสุข",
        CODES["occupation"].label("1"),
        "มารดา",
        "สมชาย",
        "ศรีสุข",
        CODES["occupation"].label("2"),
        "สมศรี",
        "ศรีสุข",
        CODES["occupation"].label("1"),
        CODES["disadvantaged"].label("09"),
        "ไม่ใช่",
        "ลูกเสือ/เนตรนารี",
        "ไม่เป็น",
        "ว่ายน้ำเป็น",
    ]


# --- the shared row ------------------------------------------------------------------------------


def test_synth_and_export_render_through_the_same_row() -> None:
    """synth.to_row is dmc_row: the same rows as before the refactor (pinned in test_synth by
    bytes) and the same text for a synthetic student rendered either way."""
    _, schools = synth.plan(3, 60, seed=7)
    school = schools[0]
    student = next(synth.students_of(school, seed=7, year=YEAR, first_index=0))
    row = synth.to_row(school, student, year=YEAR)
    assert row == dmc_row(school, student, student, age_at=synth.reference_date(YEAR))
    assert len(row) == 39
    assert row[6] in ("ช", "ญ")
    assert row[3] == GRADES.label(student.grade)


@pytest.mark.parametrize(
    ("value", "out"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+66812345678", "'+66812345678"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("-2+3", "'-2+3"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("＝1+1", "'＝1+1"),
        ("-", "-"),  # DMC's empty street stays as it is
        ("", ""),
        ("มะลิ", "มะลิ"),
        ("a=b", "a=b"),
        ("12/3", "12/3"),
    ],
)
def test_neutralise(value: str, out: str) -> None:
    assert neutralise(value) == out


# --- CSV export ----------------------------------------------------------------------------------


def test_csv_export_exact_row_bom_and_filename(world: World) -> None:
    e = full_student(world)
    response = token_client(world, "officer_a1").get("/api/v1/schools/10010001/students.csv")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="students_10010001_2564.csv"'
    assert response["Cache-Control"] == "no-store"
    raw = body(response)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw
    rows = csv_rows(raw)
    assert rows[0] == list(HEADER)
    assert rows[1:] == [expected_row(e.person.person_id, e.student_no)]


def test_csv_export_neutralises_formulas(world: World) -> None:
    world.add_student(
        first_name='=HYPERLINK("http://evil.example","คลิก")', last_name="+66812345678"
    )
    world.add_student(first_name="@SUM(A1:A2)", last_name="-1+1", street="-")
    rows = csv_rows(token_client(world, "officer_a1").get("/api/v1/schools/10010001/students.csv"))
    names = {(r[8], r[9], r[20]) for r in rows[1:]}
    assert names == {
        ('\'=HYPERLINK("http://evil.example","คลิก")', "'+66812345678", ""),
        ("'@SUM(A1:A2)", "'-1+1", "-"),
    }
    for row in rows[1:]:
        for cell in row:
            assert not cell.startswith(("=", "+", "@")), cell
            assert not cell.startswith("-") or cell == "-", cell


def test_export_lists_only_active_students_in_thai_name_order(world: World) -> None:
    world.add_student(first_name="ไก่", last_name="ก")
    world.add_student(first_name="กา", last_name="ข")
    world.add_student(world.school_a2, first_name="ขวด", last_name="ค")
    rows = csv_rows(token_client(world, "officer_a1").get("/api/v1/schools/10010001/students.csv"))
    assert [r[8] for r in rows[1:]] == ["กา", "ไก่"]  # Thai dictionary order, school a1 only


def test_export_of_a_year_without_students_is_the_header(world: World) -> None:
    world.add_student()
    rows = csv_rows(
        token_client(world, "officer_a1").get("/api/v1/schools/10010001/students.csv?year=2563")
    )
    assert rows == [list(HEADER)]


# --- scope, purpose, audit -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "smis", "status", "code"),
    [
        ("officer_a2", "10010001", 403, "not_in_scope"),
        ("officer_b1", "10010001", 403, "not_in_scope"),
        ("area_b", "10010001", 403, "not_in_scope"),
        ("officer_a1", "99999999", 404, "not_found"),
        ("area_a", "99999999", 404, "not_found"),
    ],
)
def test_export_outside_scope_is_refused(
    world: World, who: str, smis: str, status: int, code: str
) -> None:
    world.add_student()
    client = token_client(world, who)
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/api/v1/schools/{smis}/students.{fmt}?purpose=audit")
        assert response.status_code == status
        assert response.json()["code"] == code
        assert set(response.json()) == {"code", "message", "fields"}
    assert export_events() == []


@pytest.mark.parametrize("who", ["area_a", "obec"])
def test_area_and_obec_exports_need_a_purpose(world: World, who: str) -> None:
    world.add_student()
    client = token_client(world, who)
    for query in ("", "?purpose=", "?purpose=%20%20"):
        refused = client.get(f"/api/v1/schools/10010001/students.csv{query}")
        assert refused.status_code == 400
        data = refused.json()
        assert data["code"] == "export_purpose_required"
        assert set(data["fields"]) == {"purpose"}
        assert "วัตถุประสงค์" in data["message"]
    english = client.get("/api/v1/schools/10010001/students.csv", HTTP_ACCEPT_LANGUAGE="en").json()
    assert "purpose" in english["message"]
    assert export_events() == []

    ok = client.get("/api/v1/schools/10010001/students.csv?purpose=ตรวจสอบเงินอุดหนุน")
    assert ok.status_code == 200
    assert len(csv_rows(ok)) == 2
    [event] = export_events()
    assert event.actor == world.users[who]
    assert event.actor_role == world.actors[who].role
    assert (event.target_type, event.target_id) == ("schools.school", str(world.school_a1.pk))
    assert event.after == {"rows": 1, "format": "csv", "academic_year": YEAR}
    assert event.reason == "ตรวจสอบเงินอุดหนุน"


def test_school_export_is_audited_without_a_purpose(world: World) -> None:
    world.add_student()
    world.add_student()
    client = token_client(world, "director_a1")
    assert client.get("/api/v1/schools/10010001/students.xlsx").status_code == 200
    [event] = export_events()
    assert event.after == {"rows": 2, "format": "xlsx", "academic_year": YEAR}
    assert event.reason == ""
    assert event.school_id == world.school_a1.pk


def test_export_needs_authentication(world: World) -> None:
    response = Client().get("/api/v1/schools/10010001/students.csv")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


# --- XLSX export ---------------------------------------------------------------------------------


def test_xlsx_export_matches_the_csv(world: World) -> None:
    full_student(world)
    world.add_student(first_name="=1+1", last_name="@x", grade="04")
    world.add_student(first_name="+1", last_name="ทดสอบ", grade="09", room=2)
    client = token_client(world, "officer_a1")
    from_csv = csv_rows(client.get("/api/v1/schools/10010001/students.csv"))
    response = client.get("/api/v1/schools/10010001/students.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert 'filename="students_10010001_2564.xlsx"' in response["Content-Disposition"]
    content = body(response)
    rows = xlsx_rows(content)
    assert [["" if v is None else v for v in row] for row in rows] == from_csv
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    assert ws.freeze_panes == "A2"
    # every cell is text; nothing is a formula
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
            assert cell.value is None or isinstance(cell.value, str)
    assert {ws.cell(row=r, column=9).value for r in (2, 3, 4)} >= {"'=1+1", "'+1"}


# --- the web page --------------------------------------------------------------------------------


def test_student_list_offers_the_downloads(world: World, client: Client) -> None:
    world.add_student()
    login(client, world.users["officer_a1"])
    page = client.get("/schools/10010001/students/").content.decode()
    assert "ดาวน์โหลดรายชื่อ (CSV)" in page and "ดาวน์โหลดรายชื่อ (Excel)" in page
    assert "/schools/10010001/students.csv?year=2564" in page
    assert "/schools/10010001/template.xlsx" in page
    assert 'name="purpose"' not in page  # a school exports its own list without one
    response = client.get("/schools/10010001/students.csv?year=2564")
    assert response.status_code == 200
    assert len(csv_rows(response)) == 2
    xlsx = client.get("/schools/10010001/students.xlsx")
    assert xlsx.status_code == 200
    assert len(xlsx_rows(body(xlsx))) == 2
    assert [e.after["format"] for e in export_events()] == ["csv", "xlsx"]


def test_area_web_export_asks_for_a_purpose(world: World, client: Client) -> None:
    world.add_student()
    login(client, world.users["area_a"])
    state_purpose(client, "10010001")
    page = client.get("/schools/10010001/students/").content.decode()
    assert 'name="purpose"' in page and "วัตถุประสงค์" in page
    refused = client.post("/schools/10010001/students.csv", {"year": "2564"})
    assert refused.status_code == 400
    assert "วัตถุประสงค์" in refused.content.decode()
    ok = client.post("/schools/10010001/students.xlsx", {"year": "2564", "purpose": "นิเทศ"})
    assert ok.status_code == 200
    assert len(xlsx_rows(body(ok))) == 2
    [event] = export_events()
    assert event.reason == "นิเทศ"
    other = client.post("/schools/42010001/students.csv", {"purpose": "นิเทศ"})
    assert other.status_code == 403


# --- the template --------------------------------------------------------------------------------


def test_template_has_a_dropdown_for_every_coded_column(world: World) -> None:
    school_grades_update(
        actor=world.actors["officer_a1"],
        school=world.school_a1,
        academic_year=YEAR,
        rooms={"04": 1, "05": 3, "06": 2, "07": None, "08": None, "09": None},
    )
    response = token_client(world, "officer_a1").get("/api/v1/schools/10010001/template.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert 'filename="template_10010001_2564.xlsx"' in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(body(response)))
    assert wb.sheetnames == ["นักเรียน", "คำแนะนำ", "lists"]
    data, lists = wb["นักเรียน"], wb["lists"]
    assert lists.sheet_state == "hidden"
    assert [c.value for c in data[1]] == list(HEADER)
    assert data.freeze_panes == "A2"
    assert data.column_dimensions["C"].number_format == "@"  # IDs stay text
    assert data.column_dimensions["K"].number_format == "@"  # BE dates stay text
    assert data.column_dimensions["I"].width >= 6

    def values(ref: str) -> list[Any]:
        sheet, cells = ref.split("!")
        assert sheet == "lists"
        first, last = cells.replace("$", "").split(":")
        return [c.value for row in lists[first:last] for c in row]

    by_column: dict[str, Any] = {}
    for dv in data.data_validations.dataValidation:
        for rng in dv.sqref.ranges:
            by_column[HEADER[rng.min_col - 1]] = dv
            assert (rng.min_row, rng.max_row) == (2, 5001)
    lists_expected: dict[str, list[Any]] = {
        "รหัสโรงเรียน": ["10010001"],
        "ชื่อโรงเรียน": ["โรงเรียนบ้านหนึ่ง"],
        "ชั้น": ["ป.1", "ป.2", "ป.3"],
        "ห้อง": [1, 2, 3],
        "เพศ": ["ช", "ญ"],
        "คำนำหน้าชื่อ": [e["th"] for e in CODES["title"]],
        "กลุ่มเลือด": ["N", "A", "B", "O", "AB"],
        "ศาสนา": [e["th"] for e in CODES["religion"]],
        "เชื้อชาติ": [e["th"] for e in CODES["nationality"]],
        "สัญชาติ": [e["th"] for e in CODES["nationality"]],
        "จังหวัด": [e["th"] for e in CODES["province"]],
        "อาชีพของผู้ปกครอง": [e["th"] for e in CODES["occupation"]],
        "ความเกี่ยวข้องของผู้ปกครองกับนักเรียน": [e["th"] for e in CODES["relation"]],
        "อาชีพของบิดา": [e["th"] for e in CODES["occupation"]],
        "อาชีพของมารดา": [e["th"] for e in CODES["occupation"]],
        "ความด้อยโอกาส": [e["th"] for e in CODES["disadvantaged"]],
        "ยังไม่สามารถจำหน่ายได้ (3.1.8)": ["ใช่", "ไม่ใช่"],
        "เป็นลูกเสือ/เนตรนาร": [e["th"] for e in CODES["scout"]],
        "เป็นยุวกาชาด": [e["th"] for e in CODES["redcross"]],
        "ทักษะการว่ายน้ำ": [e["th"] for e in CODES["swimming"]],
    }
    for header, expected in lists_expected.items():
        dv = by_column[header]
        assert dv.type == "list", header
        assert dv.showErrorMessage, header
        assert values(dv.formula1) == expected, header
    assert {by_column[h].type for h in ("น้ำหนัก", "ส่วนสูง")} == {"decimal"}
    # the lists are exactly what the export writes
    assert lists_expected["กลุ่มเลือด"] == list_values("blood")
    help_text = " ".join(str(c.value) for row in wb["คำแนะนำ"].iter_rows() for c in row)
    assert "10010001 โรงเรียนบ้านหนึ่ง" in help_text and "ป.2 (3 ห้อง)" in help_text


def test_template_is_scoped_and_linked(world: World, client: Client) -> None:
    assert (
        token_client(world, "officer_a2").get("/api/v1/schools/10010001/template.xlsx").status_code
        == 403
    )
    login(client, world.users["officer_a1"])
    assert "/schools/10010001/template.xlsx" in client.get("/").content.decode()  # the menu
    response = client.get("/schools/10010001/template.xlsx")
    assert response.status_code == 200
    assert load_workbook(io.BytesIO(response.content))["lists"]["C2"].value == "ป.1"
    assert client.get("/schools/42010001/template.xlsx").status_code == 403
    assert AuditEvent.objects.filter(action="export.students").count() == 0


# --- report tables as XLSX -----------------------------------------------------------------------


def test_write_table_neutralises_and_keeps_numbers() -> None:
    content = write_table(
        "ตาราง: ทดสอบ/1",
        ["ชั้น", "จำนวน"],
        [["=SUM(1)", 3], ["ป.1", Decimal("2.5")], ["-", -4], ["x\x01y", None]],
    )
    wb = load_workbook(io.BytesIO(content))
    ws = wb.worksheets[0]
    assert ws.title == "ตาราง  ทดสอบ 1"
    assert ws.freeze_panes == "A2"
    assert xlsx_rows(content) == [
        ["ชั้น", "จำนวน"],
        ["'=SUM(1)", 3],
        ["ป.1", 2.5],
        ["-", -4],
        ["xy", None],
    ]
    assert ws["A1"].font.b


def test_home_totals_table_downloads_as_xlsx(world: World, client: Client) -> None:
    world.add_student(grade="04")
    world.add_student(grade="04", sex="F", title_code="002")
    world.add_student(grade="05")
    login(client, world.users["officer_a1"])
    home = client.get("/").content.decode()
    assert "/schools/10010001/totals.xlsx?year=2564" in home
    response = client.get("/schools/10010001/totals.xlsx?year=2564")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert xlsx_rows(response.content) == [
        ["ชั้น", "ชาย", "หญิง", "รวม"],
        ["ป.1", 1, 1, 2],
        ["ป.2", 1, 0, 1],
        ["รวม", 2, 1, 3],
    ]
    client.cookies["dmc_lang"] = "en"
    english = xlsx_rows(client.get("/schools/10010001/totals.xlsx").content)
    assert english[0] == ["Grade", "Male", "Female", "Total"]
    assert english[1][0] == "P1"
    assert client.get("/schools/42010001/totals.xlsx").status_code == 403


# --- public statistics ---------------------------------------------------------------------------


@contextmanager
def at(month: int, day: int, hour: int, minute: int = 0) -> Iterator[None]:
    with clock.frozen(bangkok(2022, month, day, hour, minute)):
        yield


def round3() -> Round:
    return Round.objects.get(academic_year__year=YEAR, number=3)


def fit_rooms(world: World, school: School, actor: Actor) -> None:
    """D6: 2 rooms for each grade that has students, none for the others."""
    grades = set(
        Enrolment.objects.filter(
            school=school, academic_year=YEAR, status=Enrolment.Status.ACTIVE
        ).values_list("grade", flat=True)
    )
    rooms: dict[str, int | None] = dict.fromkeys(("04", "05", "06", "07", "08", "09"))
    rooms.update(dict.fromkeys(grades, 2))
    school_grades_update(actor=actor, school=school, academic_year=YEAR, rooms=rooms)


def pupils(world: World, school: School, grade: str, boys: int, girls: int) -> None:
    for _ in range(boys):
        world.add_student(school, grade=grade)
    for _ in range(girls):
        world.add_student(school, grade=grade, sex="F", title_code="002")


def stats(**params: Any) -> Any:
    query = {"area": "1001", "year": YEAR, "round": 3, **params}
    return Client().get("/api/v1/public/stats", query)


def school_row(data: dict[str, Any], smis: str) -> dict[str, Any]:
    [row] = [r for r in data["data"] if r["schoolCode"] == smis]
    return row


@pytest.fixture
def two_schools(world: World) -> World:
    """Area 1001: school a1 with ป.2 6 boys and 2 girls; a2 with ป.2 5 boys and 7 girls and
    ป.3 3 boys; rooms fitted, nothing confirmed yet (entry window of round 3)."""
    pupils(world, world.school_a1, "05", 6, 2)
    pupils(world, world.school_a2, "05", 5, 7)
    pupils(world, world.school_a2, "06", 3, 0)
    fit_rooms(world, world.school_a1, world.actors["officer_a1"])
    fit_rooms(world, world.school_a2, world.actors["officer_a2"])
    return world


def test_public_stats_shape(two_schools: World) -> None:
    world = two_schools
    with at(4, 30, 9):
        rs.round_confirm(
            actor=world.actors["officer_a1"], school=world.school_a1, round_id=round3().pk
        )
        response = stats()
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json; charset=utf-8"
    data = response.json()
    assert data["success"] is True
    assert (data["area"], data["year"], data["round"]) == ("1001", YEAR, 3)
    assert data["levels"] == [e["th"] for e in GRADES]
    assert (
        len(data["levels"]) == 18 and data["levels"][0] == "อ.1" and data["levels"][-1] == "ปวช.3"
    )
    row = school_row(data, "10010001")
    level_keys = [f"{lv} {k}" for lv in data["levels"] for k in ("ชาย", "หญิง", "ห้อง")]
    assert list(row) == ["รหัสเขต", "รหัสโรงเรียน", "schoolCode", "schoolName", *level_keys]
    assert (row["รหัสเขต"], row["รหัสโรงเรียน"], row["schoolName"]) == (
        "1001",
        "10010001",
        "โรงเรียนบ้านหนึ่ง",
    )
    total = data["data"][-1]
    assert total["schoolName"] == "รวม" and total["schoolCode"] == ""
    assert {k: total[k] for k in level_keys} == data["totals"]
    assert data["note"] and data["noteEn"]


def test_public_stats_never_show_live_unconfirmed_data(two_schools: World) -> None:
    world = two_schools
    a1, a2, r = world.school_a1, world.school_a2, round3()
    before = stats().json()  # nobody has confirmed: no numbers at all
    assert before["source"] == "confirm" and before["official"] is False
    assert before["data"] == [before["data"][-1]]  # only the total row
    assert set(before["totals"].values()) == {0}
    assert before["missing"] == ["10010001", "10010002"]

    with at(4, 30, 9):
        rs.round_confirm(actor=world.actors["officer_a1"], school=a1, round_id=r.pk)
        data = stats().json()
    assert data["source"] == "confirm"
    assert data["missing"] == ["10010002"]  # a2 has live students but has not confirmed
    row = school_row(data, "10010001")
    assert (row["ป.2 ชาย"], row["ป.2 หญิง"], row["ป.2 ห้อง"]) == (6, None, 2)
    assert (data["totals"]["ป.2 ชาย"], data["totals"]["ป.2 หญิง"]) == (6, None)
    assert data["totals"]["ป.3 ชาย"] == 0  # a2's three boys are not published

    # a1 cancels and changes its data: its numbers disappear until it confirms again
    with at(4, 30, 10):
        rs.round_cancel(actor=world.actors["officer_a1"], school=a1, round_id=r.pk)
        world.add_student(a1, grade="05")
        data = stats().json()
        assert data["missing"] == ["10010001", "10010002"]
        assert data["totals"]["ป.2 ชาย"] == 0
        rs.round_confirm(actor=world.actors["officer_a1"], school=a1, round_id=r.pk)
        rs.round_confirm(actor=world.actors["officer_a2"], school=a2, round_id=r.pk)
        data = stats().json()
    assert data["source"] == "confirm" and data["missing"] == []
    a1_row, a2_row = school_row(data, "10010001"), school_row(data, "10010002")
    assert (a1_row["ป.2 ชาย"], a2_row["ป.2 ชาย"], data["totals"]["ป.2 ชาย"]) == (7, 5, 12)


def test_public_stats_suppress_small_cells_and_their_complements(two_schools: World) -> None:
    world = two_schools
    r = round3()
    with at(4, 30, 9):
        rs.round_confirm(actor=world.actors["officer_a1"], school=world.school_a1, round_id=r.pk)
        rs.round_confirm(actor=world.actors["officer_a2"], school=world.school_a2, round_id=r.pk)
    with at(4, 30, 17):
        rs.round_close(actor=world.actors["obec"], round_id=r.pk)
        data = stats().json()
    a1_row, a2_row, totals = (
        school_row(data, "10010001"),
        school_row(data, "10010002"),
        data["totals"],
    )
    # ป.2 boys 6 + 5: nothing small
    assert (a1_row["ป.2 ชาย"], a2_row["ป.2 ชาย"], totals["ป.2 ชาย"]) == (6, 5, 11)
    # ป.2 girls 2 + 7 = 9: the 2 is small and the total would give it away, so a2's 7 goes too
    assert (a1_row["ป.2 หญิง"], a2_row["ป.2 หญิง"], totals["ป.2 หญิง"]) == (None, None, 9)
    # ป.3 boys 0 + 3 = 3: the 3 and the total are small; the 0 stays
    assert (a1_row["ป.3 ชาย"], a2_row["ป.3 ชาย"], totals["ป.3 ชาย"]) == (0, None, None)
    # rooms are never suppressed
    assert (a1_row["ป.2 ห้อง"], a2_row["ป.3 ห้อง"], totals["ป.2 ห้อง"]) == (2, 2, 4)
    assert data["suppressedCells"] == 4
    assert "1–4" in data["note"]


def test_public_stats_of_a_closed_round_come_from_the_close_snapshot(two_schools: World) -> None:
    world = two_schools
    r = round3()
    with at(4, 30, 9):
        rs.round_confirm(actor=world.actors["officer_a1"], school=world.school_a1, round_id=r.pk)
    with at(4, 30, 17):
        close = rs.round_close(actor=world.actors["obec"], round_id=r.pk)
        data = stats().json()
    assert data["source"] == "close" and data["official"] is True
    assert data["missing"] == ["10010002"]
    assert school_row(data, "10010001")["ป.2 ชาย"] == 6
    # the published school is the one sealed by hash in the close snapshot, whatever happens to
    # the school's round record afterwards
    assert close.totals["schools"][0][0] == "10010001"
    Snapshot.objects.filter(kind=Snapshot.Kind.CONFIRM).update(cancelled_at=clock.now())
    with at(4, 30, 18):
        assert school_row(stats().json(), "10010001")["ป.2 ชาย"] == 6


def test_public_stats_of_a_round_closed_without_a_close_snapshot(world: World) -> None:
    world.add_student()
    data = stats(round=1).json()  # the calendar's round 1: closed, nothing sealed
    assert data["source"] == "confirm"
    assert data["missing"] == ["10010001", "10010002"]


def test_public_stats_caching(two_schools: World) -> None:
    world = two_schools
    first = stats()
    assert first["Cache-Control"] == "public, max-age=300"
    etag = first["ETag"]
    assert etag.startswith('"') and len(etag) == 34
    again = Client().get(
        "/api/v1/public/stats",
        {"area": "1001", "year": YEAR, "round": 3},
        HTTP_IF_NONE_MATCH=etag,
    )
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "public, max-age=300"
    weak = Client().get(
        "/api/v1/public/stats",
        {"area": "1001", "year": YEAR, "round": 3},
        HTTP_IF_NONE_MATCH=f'"other", W/{etag}',
    )
    assert weak.status_code == 304
    with at(4, 30, 9):
        rs.round_confirm(
            actor=world.actors["officer_a1"], school=world.school_a1, round_id=round3().pk
        )
        changed = stats()
    assert changed["ETag"] != etag
    assert stats(area="4201")["ETag"] != etag


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"area": "9999"}, 404, "not_found"),
        ({"year": 2599}, 404, "round_not_found"),
        ({"round": 4}, 422, "validation"),
        ({"year": "abc"}, 422, "validation"),
        ({"area": ""}, 422, "validation"),
    ],
)
def test_public_stats_errors_have_the_one_shape(
    world: World, params: dict[str, Any], status: int, code: str
) -> None:
    response = stats(**params)
    assert response.status_code == status
    data = response.json()
    assert set(data) == {"code", "message", "fields"}
    assert data["code"] == code


def test_suppress_in_isolation() -> None:
    keys = public.COUNT_KEYS
    rows = [dict.fromkeys(keys, 0) for _ in range(3)]
    totals: dict[str, Any] = dict.fromkeys(keys, 0)
    key = keys[0]
    for row, n in zip(rows, (1, 9, 6), strict=True):
        row[key] = n
    totals[key] = 16
    assert public.suppress(rows, totals) == 2
    assert [r[key] for r in rows] == [None, 9, None]  # the smallest other non-small cell goes
    assert totals[key] == 16


def test_openapi_documents_the_exchange_operations(db: None) -> None:
    doc = Client().get("/api/v1/openapi.json").json()
    paths = doc["paths"]
    csv_op = paths["/api/v1/schools/{smis_code}/students.csv"]["get"]
    assert "text/csv" in csv_op["responses"]["200"]["content"]
    assert {"400", "401", "403", "404", "422"} <= set(csv_op["responses"])
    assert (
        XLSX
        in paths["/api/v1/schools/{smis_code}/students.xlsx"]["get"]["responses"]["200"]["content"]
    )
    assert (
        XLSX
        in paths["/api/v1/schools/{smis_code}/template.xlsx"]["get"]["responses"]["200"]["content"]
    )
    stats_op = paths["/api/v1/public/stats"]["get"]
    assert "security" not in stats_op
    assert "<level> ชาย" in stats_op["summary"]
    assert {"200", "404", "422"} <= set(stats_op["responses"])
    names = {p["name"] for p in stats_op["parameters"]}
    assert names == {"area", "year", "round"}


def test_export_streams_in_chunks(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are read CHUNK at a time (bounded memory): one query per chunk, not per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dmc.exchange import export

    monkeypatch.setattr(export, "CHUNK", 2)
    for _ in range(5):
        world.add_student()
    client = token_client(world, "officer_a1")
    response = client.get("/api/v1/schools/10010001/students.csv")
    with CaptureQueriesContext(connection) as queries:
        rows = csv_rows(response)
    assert len(rows) == 6
    assert len(queries) == 3  # ceil(5 / 2) chunk reads while streaming
