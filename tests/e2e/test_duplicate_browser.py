"""A duplicate student through a real browser: school B (b1, area B) pulls by citizen ID a
student still active in school A (a1, area A). No second enrolment is made: a duplicate case
opens with both schools as parties; school A sees it in its cases; the area office of A (the
school holding the student) decides that the claiming school keeps the student; the counts on
both schools' home pages move by one and the student moves from A's list to B's.

The server clock is frozen inside round 3's entry window of 2564 (20 Apr 2565, ``world``), so
the end-of-year round's L5 applies: the claiming school ticks "sat the final exam here"."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import Browser, BrowserContext, Page, expect

from dmc.cases.models import Case
from dmc.rounds.models import SchoolYearStats
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World
from tests.e2e.conftest import TIMEOUT_MS, browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

A1, B1 = "10010001", "42010001"


def _new_context(browser: Browser) -> BrowserContext:
    ctx = browser.new_context(
        locale="th-TH", timezone_id="Asia/Bangkok", viewport={"width": 1280, "height": 900}
    )
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    return ctx


def _home_total(page: Page, base: str) -> Any:
    """The "total" cell of the home page's table of students by grade and sex."""
    page.goto(f"{base}/")
    return page.locator("table.totals tfoot td").nth(2)


def _stats_total(school: Any) -> int:
    row = SchoolYearStats.objects.get(school=school, academic_year=YEAR)
    return sum(c["M"] + c["F"] for c in row.totals.values())


def _active_school(enrolment: Enrolment) -> list[int]:
    return list(
        Enrolment.objects.filter(
            person_id=enrolment.person_id, academic_year=YEAR, status=Enrolment.Status.ACTIVE
        ).values_list("school_id", flat=True)
    )


def test_school_b_pulls_a_student_active_in_school_a_and_the_area_decides(
    live_server: Any, browser: Browser, page: Page, world: World
) -> None:
    base = live_server.url
    held = world.add_student(world.school_a1, first_name="ปิยะ", grade="05")
    world.add_student(world.school_a1, first_name="มานะ", grade="05")
    world.add_student(world.school_b1, first_name="ดวงดี", grade="05")
    pid = held.person.person_id
    assert (_stats_total(world.school_a1), _stats_total(world.school_b1)) == (2, 1)

    # --- school B's officer pulls the ID ------------------------------------------------------
    browser_login(page, base, "officer_b1")
    expect(_home_total(page, base)).to_have_text("1")
    page.locator("nav.mainnav").get_by_role("link", name="รับย้ายเข้า", exact=True).click()
    expect(page).to_have_url(f"{base}/students/transfer-in/")
    page.locator("input[name=id]").fill(pid)
    with page.expect_navigation():
        page.get_by_role("button", name="ค้นหา", exact=True).click()
    card = page.locator("section.card")
    expect(card.get_by_role("heading", level=2)).to_have_text("เด็กชายปิยะ ใจดี")
    # still active elsewhere: the other area's school is not named to a school officer
    warning = card.get_by_role("alert")
    expect(warning).to_contain_text("นักเรียนยังมีสถานะกำลังศึกษาที่ โรงเรียนอื่น")
    expect(page.get_by_text("โรงเรียนบ้านหนึ่ง")).to_have_count(0)
    page.locator("select[name=grade]").select_option("05")
    page.locator("input[name=room]").fill("1")
    page.locator("input[name=student_no]").fill("42777")
    page.get_by_label("นักเรียนเข้าสอบปลายภาคปีนี้กับโรงเรียนนี้", exact=False).check()
    with page.expect_navigation():
        page.get_by_role("button", name="ขอรับย้ายเข้า (เปิดเรื่องซ้ำซ้อน)", exact=True).click()

    case = Case.objects.get()
    expect(page).to_have_url(f"{base}/cases/{case.pk}/")
    expect(page.locator("#case-status")).to_have_text("ยื่นคำร้อง")
    expect(page.get_by_role("heading", level=1)).to_contain_text("นักเรียนซ้ำซ้อน")
    expect(page.get_by_text("ขอรับเข้าชั้น")).to_contain_text("42777")
    # a school has no decision form
    expect(page.locator("input[name=keeper]")).to_have_count(0)
    assert (case.kind, case.status) == (Case.Kind.DUPLICATE, Case.Status.SUBMITTED)
    assert (case.school_id, case.other_school_id) == (world.school_b1.pk, world.school_a1.pk)
    assert _active_school(held) == [world.school_a1.pk]  # never two active enrolments (D1)
    assert (_stats_total(world.school_a1), _stats_total(world.school_b1)) == (2, 1)

    # --- school A's officer sees the case among its cases --------------------------------------
    a1_ctx = _new_context(browser)
    try:
        a1 = a1_ctx.new_page()
        browser_login(a1, base, "officer_a1")
        expect(_home_total(a1, base)).to_have_text("2")
        cases_link = a1.locator("nav.mainnav a[href='/cases/']")
        expect(cases_link).to_contain_text("คำร้อง")
        expect(cases_link.locator("#queue-count")).to_have_text("1")
        cases_link.click()
        expect(a1).to_have_url(f"{base}/cases/")
        row = a1.locator("table.grid tbody tr")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("นักเรียนซ้ำซ้อน")
        expect(row).to_contain_text("โรงเรียนบ้านเลย ↔ โรงเรียนบ้านหนึ่ง")
        expect(row).to_contain_text("ยื่นคำร้อง")
        row.get_by_role("link", name=str(case.pk), exact=True).click()
        expect(a1).to_have_url(f"{base}/cases/{case.pk}/")
        expect(a1.locator("#case-status")).to_have_text("ยื่นคำร้อง")
        expect(a1.locator("input[name=keeper]")).to_have_count(0)
        # the holding school may answer on the case
        a1.locator("input[name=note]").last.fill("นักเรียนยังมาเรียนถึงวันสอบ")
        with a1.expect_navigation():
            a1.get_by_role("button", name="ส่ง", exact=True).click()
        expect(a1.get_by_role("status")).to_have_text("บันทึกแล้ว")
        expect(a1.get_by_text("นักเรียนยังมาเรียนถึงวันสอบ")).to_be_visible()
    finally:
        a1_ctx.close()

    # --- the area office of A (holding the student) decides: school B keeps the student -------
    area_ctx = _new_context(browser)
    try:
        area = area_ctx.new_page()
        browser_login(area, base, "area_a")
        cases_link = area.locator("nav.mainnav a[href='/cases/']")
        expect(cases_link.locator("#queue-count")).to_have_text("1")
        cases_link.click()
        waiting = area.locator("section.card", has_text="รอท่านดำเนินการ")
        expect(waiting.locator("li")).to_have_count(1)
        waiting.get_by_role("link").click()
        expect(area).to_have_url(f"{base}/cases/{case.pk}/")
        expect(area.get_by_text("นักเรียนยังมาเรียนถึงวันสอบ")).to_be_visible()
        area.get_by_label("โรงเรียนบ้านเลย (โรงเรียนที่ขอรับย้าย)").check()
        area.locator("form", has=area.locator("input[name=keeper]")).locator(
            "input[name=note]"
        ).fill("ผู้ปกครองยืนยันว่าย้ายไปเรียนที่โรงเรียนบ้านเลยแล้ว")
        with area.expect_navigation():
            area.get_by_role("button", name="บันทึกผลการพิจารณา", exact=True).click()
        expect(area.get_by_role("status")).to_have_text("บันทึกแล้ว")
        expect(area.locator("#case-status")).to_have_text("ดำเนินการแล้ว")
        expect(area.get_by_text("ผลการพิจารณา: นักเรียนอยู่ที่")).to_contain_text("โรงเรียนบ้านเลย")
        expect(area.locator("input[name=keeper]")).to_have_count(0)
        expect(area.locator("nav.mainnav #queue-count")).to_have_count(0)
        area.screenshot(path=str(settings.VAR_DIR / "e2e-duplicate-case.png"), full_page=True)
    finally:
        area_ctx.close()

    case.refresh_from_db()
    assert (case.status, case.data["keeper"], case.decided_by) == (
        Case.Status.APPLIED,
        "claimant",
        world.users["area_a"],
    )
    assert _active_school(held) == [world.school_b1.pk]
    assert Enrolment.objects.get(pk=held.pk).status == Enrolment.Status.TRANSFERRED_OUT
    assert (_stats_total(world.school_a1), _stats_total(world.school_b1)) == (1, 2)

    # --- the counts moved: B's home page says 2, A's says 1; the lists follow -----------------
    expect(_home_total(page, base)).to_have_text("2")
    page.goto(f"{base}/schools/{B1}/students/")
    expect(page.locator("table.students tbody tr")).to_have_count(2)
    expect(page.locator("table.students tbody")).to_contain_text("เด็กชายปิยะ ใจดี")
    a1_ctx = _new_context(browser)
    try:
        a1 = a1_ctx.new_page()
        browser_login(a1, base, "officer_a1")
        expect(_home_total(a1, base)).to_have_text("1")
        a1.goto(f"{base}/schools/{A1}/students/")
        expect(a1.locator("table.students tbody tr")).to_have_count(1)
        expect(a1.locator("table.students tbody")).not_to_contain_text("ปิยะ")
        expect(a1.locator("table.students tbody")).to_contain_text("มานะ")
    finally:
        a1_ctx.close()
