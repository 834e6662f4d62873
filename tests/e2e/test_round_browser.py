"""The end-of-year round through a real browser: the school officer clears the checklist and
confirms, the director certifies, the area office acknowledges.

The server clock starts frozen inside round 3's entry window of 2564 (20 Apr 2565, ``world``);
the test moves it into the confirm window of 30 Apr 2565 with ``clock.frozen``, which the live
server (a thread of this process) sees too.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

from dmc.core import clock
from dmc.core.clock import bangkok
from dmc.rounds.models import Round, SchoolRound
from dmc.schools.models import SchoolGrade
from dmc.students import services as student_services
from dmc.students.models import Enrolment
from tests.conftest import PASSWORD, YEAR, World, make_citizen_id, set_year_result
from tests.e2e.conftest import TIMEOUT_MS, browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONFIRM_DAY = (2022, 4, 30)  # 30 เม.ย. 2565, confirm window 08:00-16:30
SMIS = "10010001"


def _add(
    world: World, n: int, first_name: str, sex: str, *, grade: str, birth: dt.date, **measures: Any
) -> Enrolment:
    """A student added by the system, with only the measures given (weight/height)."""
    enrolment = student_services.student_add(
        sat_exam_here=True,  # round 3: only exam takers are added (L5)
        actor=None,
        school=world.school_a1,
        academic_year=YEAR,
        person_id=make_citizen_id(8_000_000 + n),
        person={
            "title_code": "002" if sex == "F" else "001",
            "first_name": first_name,
            "last_name": "หอมหวาน",
            "sex": sex,
            "birth_date": birth,
        },
        grade=grade,
        room=1,
        student_no=str(30_000 + n),
        **measures,
    )
    set_year_result(enrolment, "pass")  # the year-end steps done (L8)
    return enrolment


def _progress(world: World) -> SchoolRound | None:
    r3 = Round.objects.get(academic_year__year=YEAR, number=3)
    return (
        SchoolRound.objects.select_related("confirmed_by", "certified_by", "acknowledged_by")
        .filter(school=world.school_a1, round=r3)
        .first()
    )


def _new_context(browser: Browser) -> BrowserContext:
    ctx = browser.new_context(
        locale="th-TH", timezone_id="Asia/Bangkok", viewport={"width": 1280, "height": 900}
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    return ctx


def test_checklist_confirm_certify_acknowledge(
    live_server: Any, browser: Browser, page: Page, world: World
) -> None:
    base = live_server.url
    world.add_student(first_name="ปิติ")
    world.add_student(first_name="มานะ")
    baitoey = _add(
        world, 1, "ใบเตย", "F", grade="05", birth=dt.date(2013, 9, 1), height_cm=Decimal("134.0")
    )
    # อ.1 this year, with a child of 3 at 16 May 2564: listed, a warning, not counted (D4)
    SchoolGrade.objects.create(school=world.school_a1, academic_year=YEAR, grade="01", rooms=1)
    _add(
        world,
        2,
        "ต้นข้าว",
        "M",
        grade="01",
        birth=dt.date(2017, 6, 1),
        weight_kg=Decimal("16.0"),
        height_cm=Decimal("100.0"),
    )

    # --- the officer opens the checklist: one student without weight, rooms that do not match --
    browser_login(page, base, "officer_a1")
    page.get_by_role("link", name="ตรวจสอบและยืนยันข้อมูล").click()
    expect(page).to_have_url(f"{base}/round/")
    expect(page.locator("#school-state")).to_have_text("มีข้อผิดพลาด")
    checklist = page.locator("table.checklist tbody")
    weight_row = checklist.locator("tr", has_text="ไม่มีน้ำหนัก")
    expect(weight_row).to_have_count(1)
    expect(weight_row).to_contain_text("ต้องแก้ไข")
    expect(weight_row).to_contain_text("บันทึกน้ำหนัก (กก.) ในหน้าข้อมูลนักเรียน")
    age_row = checklist.locator("tr", has_text="อายุไม่อยู่ในเกณฑ์นับ")
    expect(age_row).to_contain_text("คำเตือน")
    expect(age_row).to_contain_text("1 คน")
    # world's school offers ป.1-ม.3 with 2 rooms each; of those only ป.2 has students (D6)
    expect(checklist.locator("tr", has_text="D6")).to_have_count(5)
    confirm = page.get_by_role("button", name="ยืนยันข้อมูล", exact=True)
    expect(confirm).to_have_attribute("aria-disabled", "true")
    expect(page.get_by_text("ไม่มีรายการที่ต้องแก้ไข")).to_have_count(0)

    # --- "1 คน" goes to the filtered list; the weight is entered on the student page -----------
    weight_row.get_by_role("link", name="1 คน").click()
    expect(page).to_have_url(f"{base}/schools/{SMIS}/students/?check=L3.weight_missing")
    rows = page.locator("table.students tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("เด็กหญิงใบเตย หอมหวาน")
    rows.first.get_by_role("link").click()
    expect(page).to_have_url(f"{base}/students/{baitoey.pk}/")
    expect(page.locator("section.checks")).to_contain_text("ไม่มีน้ำหนัก")
    page.locator("input[name=weight_kg]").fill("29.5")
    with page.expect_navigation():
        page.get_by_role("button", name="บันทึก", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("บันทึกข้อมูลเรียบร้อย")
    expect(page.locator("section.checks")).to_have_count(0)
    assert Enrolment.objects.get(pk=baitoey.pk).weight_kg == Decimal("29.5")

    # --- back to the checklist: only the rooms are left; fix them on the rooms page -----------
    page.get_by_role("link", name="ตรวจสอบและยืนยันข้อมูล").click()
    expect(checklist.locator("tr", has_text="ไม่มีน้ำหนัก")).to_have_count(0)
    expect(checklist.locator("tr", has_text="D6")).to_have_count(5)
    checklist.get_by_role("link", name="แก้จำนวนห้องเรียน").first.click()
    expect(page).to_have_url(f"{base}/school/grades/?school={SMIS}")
    for grade, rooms in {"04": "0", "05": "1", "06": "0", "07": "0", "08": "0", "09": "0"}.items():
        page.locator(f"input[name=rooms_{grade}]").fill(rooms)
    with page.expect_navigation():
        page.get_by_role("button", name="บันทึก", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("บันทึกข้อมูลเรียบร้อย")
    expect(page.locator("input[name=rooms_05]")).to_have_value("1")

    page.get_by_role("link", name="ตรวจสอบและยืนยันข้อมูล").click()
    # nothing blocks; the D4 warning stays listed, and does not hold the school back
    expect(page.get_by_text("ไม่มีรายการที่ต้องแก้ไข")).to_be_visible()
    expect(checklist.locator("tr")).to_have_count(1)
    expect(checklist.locator("tr")).to_contain_text("อายุไม่อยู่ในเกณฑ์นับ")
    page.screenshot(path=str(settings.VAR_DIR / "e2e-school-round.png"), full_page=True)
    expect(page.locator("#school-state")).to_have_text("พร้อมยืนยัน")
    expect(confirm).not_to_have_attribute("aria-disabled", "true")

    # ready, but ten days early: confirming is refused, naming the confirm window
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        confirm.click()
    assert refused.value.status == 409
    expect(page.get_by_role("alert")).to_contain_text("30 เม.ย. 2565 08:00:00")
    expect(page.get_by_role("alert")).to_contain_text("30 เม.ย. 2565 16:30:00")
    expect(page.locator("#school-state")).to_have_text("พร้อมยืนยัน")
    assert not SchoolRound.objects.filter(confirmed_at__isnull=False).exists()

    # --- 30 April 08:00:05: the officer confirms ------------------------------------------------
    with clock.frozen(bangkok(*CONFIRM_DAY, 8, 0, 5)):
        # (not page.reload(): that would re-send the refused POST, which now succeeds)
        page.get_by_role("link", name="ตรวจสอบและยืนยันข้อมูล").click()
        expect(page.locator("p.round")).to_contain_text("ช่วงยืนยันข้อมูล")
        with page.expect_navigation():
            confirm.click()
        expect(page.get_by_role("status")).to_have_text("ยืนยันข้อมูลเรียบร้อย")
        expect(page.locator("#school-state")).to_have_text("ยืนยันแล้ว")
        expect(page.locator("ol.steps li").first).to_contain_text("ทดสอบ officer_a1")
        expect(page.locator("ol.steps li").first).to_contain_text("30 เม.ย. 2565 08:00")
        expect(page.get_by_text("สแนปช็อตที่ยืนยัน")).to_contain_text("4 คน นับเป็นทางการ 3")
        expect(confirm).to_have_count(0)
    sr = _progress(world)
    assert sr is not None
    assert sr.confirmed_at == bangkok(*CONFIRM_DAY, 8, 0, 5)
    assert sr.confirmed_by == world.users["officer_a1"]
    assert sr.snapshot is not None
    assert (sr.snapshot.rows, sr.snapshot.counted_rows) == (4, 3)
    assert sr.certified_by is None and sr.acknowledged_by is None

    # --- 08:30: the director, in another browser session, certifies ---------------------------
    director_ctx = _new_context(browser)
    try:
        director = director_ctx.new_page()
        with clock.frozen(bangkok(*CONFIRM_DAY, 8, 30)):
            browser_login(director, base, "director_a1")
            director.get_by_role("link", name="ตรวจสอบและยืนยันข้อมูล").click()
            expect(director.locator("#school-state")).to_have_text("ยืนยันแล้ว")
            expect(director.get_by_role("button", name="ยืนยันข้อมูล", exact=True)).to_have_count(0)
            # step-up (issue 9): the password again before certifying
            director.locator("input[name=password]").fill(PASSWORD)
            with director.expect_navigation():
                director.get_by_role("button", name="รับรองข้อมูล", exact=True).click()
            expect(director.get_by_role("status")).to_have_text("รับรองข้อมูลเรียบร้อย")
            expect(director.locator("#school-state")).to_have_text("รับรองแล้ว")
            expect(director.locator("ol.steps li").nth(1)).to_contain_text("ทดสอบ director_a1")
            expect(director.get_by_role("button", name="รับรองข้อมูล", exact=True)).to_have_count(0)
    finally:
        director_ctx.close()
    sr = _progress(world)
    assert sr is not None
    assert sr.confirmed_by == world.users["officer_a1"]
    assert sr.certified_by == world.users["director_a1"]
    assert sr.certified_at == bangkok(*CONFIRM_DAY, 8, 30)
    assert sr.acknowledged_by is None

    # --- 09:00: the area officer sees the school certified and acknowledges it ------------------
    area_ctx = _new_context(browser)
    try:
        area = area_ctx.new_page()
        with clock.frozen(bangkok(*CONFIRM_DAY, 9, 0)):
            browser_login(area, base, "area_a")
            area.get_by_role("link", name="ติดตามการยืนยันข้อมูล").click()
            expect(area).to_have_url(f"{base}/area/round/")
            row = area.locator(f"tr[data-school='{SMIS}']")
            expect(row).to_contain_text("โรงเรียนบ้านหนึ่ง")
            expect(row.locator(".badge")).to_have_text("รับรองแล้ว")
            expect(row.locator("td.num").first).to_have_text("4")
            other = area.locator("tr[data-school='10010002']")
            # no students yet but rooms set for six grades: D6 says those rooms must go
            expect(other.locator(".badge")).to_have_text("มีข้อผิดพลาด")
            expect(other.get_by_role("button", name="รับทราบ", exact=True)).to_have_count(0)
            expect(area.locator("tr[data-school='42010001']")).to_have_count(0)  # another area
            with area.expect_navigation():
                row.get_by_role("button", name="รับทราบ", exact=True).click()
            expect(area.get_by_role("status")).to_have_text("รับทราบ โรงเรียนบ้านหนึ่ง แล้ว")
            expect(row.locator(".badge")).to_have_text("เขตรับทราบแล้ว")
            expect(row.get_by_role("button", name="รับทราบ", exact=True)).to_have_count(0)
            expect(area.locator("ul.summary")).to_contain_text(re.compile(r"เขตรับทราบแล้ว:\s*1"))
            area.screenshot(path=str(settings.VAR_DIR / "e2e-area-dashboard.png"), full_page=True)
            # the summary badges filter the table: only the acknowledged school is left
            area.locator("ul.summary").get_by_role("link", name=re.compile("เขตรับทราบแล้ว")).click()
            expect(area.locator("tbody tr")).to_have_count(1)
            expect(area.locator(f"tr[data-school='{SMIS}']")).to_be_visible()
            expect(area.get_by_text("แสดง 1 จาก")).to_be_visible()
    finally:
        area_ctx.close()
    sr = _progress(world)
    assert sr is not None
    assert sr.confirmed_by == world.users["officer_a1"]
    assert sr.certified_by == world.users["director_a1"]
    assert sr.acknowledged_by == world.users["area_a"]
    assert sr.acknowledged_at == bangkok(*CONFIRM_DAY, 9, 0)
