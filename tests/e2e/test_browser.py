"""The main paths through a real browser (headless Debian Chromium) against the live server.

The server clock is frozen inside round 3's entry window of 2564 (``frozen_clock`` via ``world``),
so saves are allowed.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Page, expect

from dmc.accounts.models import Role, RoleAssignment, User
from dmc.accounts.services import assignment_create_approved
from dmc.core.models import AuditEvent
from dmc.students.models import Enrolment
from tests.conftest import World, _user
from tests.e2e.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAVE = "บันทึก"


def _save(page: Page) -> Any:
    """Click the form's save button; return the response of the POST."""
    with (
        page.expect_navigation(),
        page.expect_response(
            lambda r: r.request.method == "POST" and "/students/" in r.url
        ) as info,
    ):
        page.get_by_role("button", name=SAVE, exact=True).click()
    return info.value


def _weight(enrolment: Enrolment) -> Decimal | None:
    return Enrolment.objects.get(pk=enrolment.pk).weight_kg


def test_school_officer_lists_searches_and_edits_a_student(
    live_server: Any, page: Page, world: World
) -> None:
    base = live_server.url
    manee = world.add_student(first_name="มานี", sex="F", title_code="002")
    piti = world.add_student(first_name="ปิติ")
    world.add_student(first_name="ชูใจ", sex="F", title_code="002", grade="06")
    world.add_student(world.school_b1, first_name="นอกเขต")  # another area: never shown

    browser_login(page, base, "officer_a1")
    expect(page).to_have_url(f"{base}/")  # one role: the picker passes straight through
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.get_by_role("heading", level=1)).to_contain_text("โรงเรียนบ้านหนึ่ง")
    totals = page.locator("table.totals")
    expect(totals.locator("tbody tr")).to_have_count(2)  # grades 05 and 06
    expect(totals.locator("tbody tr").first.locator("td")).to_have_text(["ป.2", "1", "1", "2"])
    expect(totals.locator("tfoot td")).to_have_text(["1", "2", "3"])
    page.screenshot(path=str(settings.VAR_DIR / "e2e-school-home.png"), full_page=True)

    page.get_by_role("link", name="รายชื่อนักเรียน").click()
    expect(page).to_have_url(f"{base}/schools/10010001/students/")
    rows = page.locator("table.students tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#rows")).to_contain_text("พบ 3 คน")
    expect(page.locator("#rows")).not_to_contain_text("นอกเขต")
    # citizen IDs are masked: the last four digits only, never the whole number
    pid = manee.person.person_id
    text = page.locator("body").inner_text()
    assert pid not in text
    assert re.sub(r"(\d)(\d{4})(\d{5})(\d{2})(\d)", r"\1-\2-\3-\4-\5", pid) not in text
    expect(page.get_by_text(f"x-xxxx-xxxx{pid[9]}-{pid[10:12]}-{pid[12]}")).to_be_visible()
    assert pid not in page.content()
    page.screenshot(path=str(settings.VAR_DIR / "e2e-student-list.png"), full_page=True)

    # live search (HTMX, no page load): typing narrows the list to one student
    with page.expect_response(
        lambda r: "q=" in r.url and r.request.headers.get("hx-request") == "true"
    ) as search:
        page.locator("#q").fill("ปิติ")
    assert search.value.ok
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("เด็กชายปิติ ใจดี")
    expect(page).to_have_url(re.compile(r"q=%E0%B8%9B"))  # pushed into the address bar

    rows.first.get_by_role("link").click()
    expect(page).to_have_url(f"{base}/students/{piti.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("เด็กชายปิติ ใจดี")
    weight = page.locator("input[name=weight_kg]")
    expect(weight).to_have_value("30.5")
    expect(page.locator("input[name=birth_date]")).to_have_value("01/06/2556")

    weight.fill("32.4")
    page.locator("input[name=height_cm]").fill("138.2")
    response = _save(page)
    assert response.status == 302  # post/redirect/get
    expect(page).to_have_url(f"{base}/students/{piti.pk}/")
    expect(page.get_by_role("status")).to_have_text("บันทึกข้อมูลเรียบร้อย")
    expect(weight).to_have_value("32.4")
    expect(page.locator("input[name=height_cm]")).to_have_value("138.2")
    assert _weight(piti) == Decimal("32.4")
    assert Enrolment.objects.get(pk=piti.pk).height_cm == Decimal("138.2")
    assert _weight(manee) == Decimal("30.5")  # nobody else touched
    # the change and its audit entry: who, what, before -> after
    history = page.locator("section.history tbody tr").first
    expect(history).to_contain_text("แก้ไขข้อมูลการเรียน")
    expect(history).to_contain_text("ทดสอบ officer_a1")
    expect(history).to_contain_text("น้ำหนัก (กก.): 30.5 → 32.4")
    expect(history).to_contain_text("ส่วนสูง (ซม.): 135.0 → 138.2")
    event = AuditEvent.objects.filter(action="enrolment.update").get()
    assert event.before == {"weight_kg": "30.5", "height_cm": "135.0"}
    assert event.after == {"weight_kg": "32.4", "height_cm": "138.2"}
    assert event.actor == world.users["officer_a1"]

    # an implausible weight: a Thai message beside the field, HTTP 400, nothing stored
    weight.fill("999")
    response = _save(page)
    assert response.status == 400
    expect(page.get_by_role("status")).to_have_count(0)
    expect(page.get_by_role("alert")).to_contain_text("ไม่สามารถบันทึกได้")
    error = page.locator("label.has-error .field-error")
    expect(error).to_have_count(1)
    expect(error).to_have_text(re.compile(r"น้ำหนัก \(กก\.\) 999(\.0)? อยู่นอกช่วงที่เป็นไปได้ \(8–150\)"))
    expect(weight).to_have_value("999")  # what was typed is kept for correcting
    assert _weight(piti) == Decimal("32.4")
    assert Enrolment.objects.get(pk=piti.pk).version == 2


def test_stale_edit_is_refused_and_keeps_the_first_save(
    live_server: Any, context: BrowserContext, page: Page, world: World
) -> None:
    base = live_server.url
    enrolment = world.add_student(first_name="วีระ")
    browser_login(page, base, "officer_a1")
    url = f"{base}/students/{enrolment.pk}/"
    first, second = page, context.new_page()
    first.goto(url)
    second.goto(url)  # both editors see version 1

    first.locator("input[name=weight_kg]").fill("31.0")
    assert _save(first).status == 302
    expect(first.get_by_role("status")).to_have_text("บันทึกข้อมูลเรียบร้อย")
    assert _weight(enrolment) == Decimal("31.0")

    second.locator("input[name=weight_kg]").fill("40.0")
    assert _save(second).status == 409
    conflict = second.locator("#conflict")
    expect(conflict).to_contain_text("ข้อมูลถูกแก้ไขโดยผู้อื่น")
    expect(conflict).to_contain_text("การบันทึกของท่านยังไม่ถูกบันทึก")
    expect(second.get_by_role("status")).to_have_count(0)
    assert _weight(enrolment) == Decimal("31.0")
    assert Enrolment.objects.get(pk=enrolment.pk).version == 2

    # "load the latest data" shows the first editor's value
    conflict.get_by_role("link", name="โหลดข้อมูลล่าสุด").click()
    expect(second.locator("input[name=weight_kg]")).to_have_value("31.0")


def test_language_switch_to_english_and_back(live_server: Any, page: Page, world: World) -> None:
    base = live_server.url
    browser_login(page, base, "officer_a1")
    expect(page.get_by_role("link", name="รายชื่อนักเรียน")).to_be_visible()

    page.get_by_role("button", name="English", exact=True).click()
    expect(page).to_have_url(f"{base}/")  # back where we were
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Student list")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    expect(page.locator("table.totals caption")).to_have_text(
        "Students by grade and sex (live data)"
    )
    # the choice sticks across pages
    page.get_by_role("link", name="Student list").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Students")
    expect(page.get_by_role("button", name="Search", exact=True)).to_be_visible()

    page.get_by_role("button", name="ภาษาไทย", exact=True).click()
    expect(page).to_have_url(f"{base}/schools/10010001/students/")
    expect(page.locator("html")).to_have_attribute("lang", "th")
    expect(page.get_by_role("button", name="ค้นหา", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="ออกจากระบบ")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_user_with_two_roles_picks_the_second_school(
    live_server: Any, page: Page, world: World
) -> None:
    base = live_server.url
    user = _user("two_schools")
    assignment_create_approved(
        actor=None, user=user, role=Role.SCHOOL_OFFICER, school=world.school_a1
    )
    second = assignment_create_approved(
        actor=None, user=user, role=Role.SCHOOL_OFFICER, school=world.school_a2
    )
    world.add_student(world.school_a2, first_name="ดวงใจ", sex="F", title_code="002")

    browser_login(page, base, "two_schools")
    expect(page).to_have_url(f"{base}/role/")
    expect(page.get_by_role("heading", level=1)).to_have_text("กรุณาเลือกบทบาทที่จะใช้งาน")
    choices = page.locator("input[type=radio][name=assignment]")
    expect(choices).to_have_count(2)
    expect(page.locator("ul.choices")).to_contain_text("โรงเรียนบ้านหนึ่ง (10010001)")
    page.get_by_label(re.compile(r"โรงเรียนบ้านสอง \(10010002\)")).check()
    expect(choices.nth(1)).to_have_value(str(second.pk))
    page.get_by_role("button", name="เข้าใช้งานระบบ").click()

    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("โรงเรียนบ้านสอง")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SMIS 10010002")
    expect(page.locator("header .who")).to_contain_text("โรงเรียนบ้านสอง")
    expect(page.locator("table.totals tfoot td")).to_have_text(["0", "1", "1"])
    page.get_by_role("link", name="รายชื่อนักเรียน").click()
    expect(page).to_have_url(f"{base}/schools/10010002/students/")
    expect(page.locator("table.students tbody")).to_contain_text("ดวงใจ")


def test_school_officer_cannot_reach_another_schools_data(
    live_server: Any, page: Page, world: World
) -> None:
    base = live_server.url
    elsewhere = world.add_student(world.school_b1, first_name="ไกลบ้าน")
    browser_login(page, base, "officer_a1")

    response = page.goto(f"{base}/students/{elsewhere.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("alert")).to_contain_text("ไม่พบข้อมูลที่ต้องการ")
    expect(page.locator("body")).not_to_contain_text("ไกลบ้าน")
    expect(page.locator("input[name=weight_kg]")).to_have_count(0)

    response = page.goto(f"{base}/schools/42010001/students/")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("ไม่มีสิทธิ์เข้าถึงข้อมูลนี้")
    expect(page.locator("body")).not_to_contain_text("ไกลบ้าน")
    expect(page.locator("table.students")).to_have_count(0)


def test_registration_then_area_approval_then_login(
    live_server: Any, context: BrowserContext, page: Page, world: World
) -> None:
    base = live_server.url
    page.goto(f"{base}/login/")
    page.get_by_role("link", name="ลงทะเบียนผู้ใช้ใหม่").click()
    expect(page).to_have_url(f"{base}/register/")
    form = page.locator("form[method=post]").last
    form.locator("input[name=username]").fill("kru.somsri")
    form.locator("input[name=password]").fill("Mali-Hom-2565!")
    form.locator("input[name=first_name]").fill("สมศรี")
    form.locator("input[name=last_name]").fill("รักเรียน")
    form.locator("input[name=email]").fill("somsri@example.ac.th")
    form.locator("select[name=role]").select_option("school_officer")
    form.locator("input[name=scope_code]").fill("10010001")
    form.get_by_role("button", name="ลงทะเบียน").click()
    expect(page.get_by_role("status")).to_contain_text("ลงทะเบียนเรียบร้อย")
    pending = RoleAssignment.objects.get(user__username="kru.somsri")
    assert pending.status == RoleAssignment.Status.PENDING
    assert pending.school == world.school_a1

    browser_login(page, base, "kru.somsri", "Mali-Hom-2565!")
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("alert")).to_contain_text("ยังไม่ได้รับการอนุมัติ")
    expect(page.get_by_role("alert")).to_contain_text("สำนักงานเขตพื้นที่การศึกษา")

    # the area officer approves in a separate browser session
    approver = context.browser.new_context(locale="th-TH")  # type: ignore[union-attr]
    try:
        area = approver.new_page()
        browser_login(area, base, "area_a")
        expect(area).to_have_url(f"{base}/")
        area.get_by_role("link", name=re.compile("มีคำขอใช้งานรออนุมัติ")).click()
        expect(area).to_have_url(f"{base}/approvals/")
        row = area.locator("tbody tr", has_text="kru.somsri")
        expect(row).to_contain_text("สมศรี รักเรียน")
        expect(row).to_contain_text("โรงเรียนบ้านหนึ่ง (10010001)")
        row.get_by_role("button", name="อนุมัติ", exact=True).click()
        expect(area.locator("tbody")).to_contain_text("ไม่มีคำขอที่รออนุมัติ")
    finally:
        approver.close()
    pending.refresh_from_db()
    assert pending.status == RoleAssignment.Status.APPROVED
    assert pending.decided_by == User.objects.get(username="area_a")

    browser_login(page, base, "kru.somsri", "Mali-Hom-2565!")
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("โรงเรียนบ้านหนึ่ง")
    expect(page.locator("header .who")).to_contain_text("สมศรี รักเรียน")
    expect(page.get_by_role("link", name="รายชื่อนักเรียน")).to_be_visible()
