"""Browser: a teacher enters a class's end-of-year results through the three steps (3.2.2 →
3.2.2.1 → 3.2.2.2), meets the order rule and a refusal, and the checklist clears."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from dmc.students.models import Enrolment
from tests.conftest import World
from tests.e2e.conftest import browser_login


def test_a_teacher_enters_results_for_a_class_through_the_three_steps(
    live_server: Any, page: Page, world: World
) -> None:
    base = live_server.url
    # ป.6 room 1: three pupils without results yet (a terminal grade: graduates need a destination)
    kids = [
        world.add_student(grade="09", first_name=name, year_result="")
        for name in ("กานดา", "ขวัญใจ", "คมสัน")
    ]
    browser_login(page, base, "officer_a1")
    page.get_by_role("link", name="สิ้นปีการศึกษา").click()
    expect(page).to_have_url(f"{base}/yearend/")
    steps = page.locator("#steps")
    expect(steps.locator("tr[data-menu='3.2.2'] .pending")).to_have_text("3")
    expect(steps.locator("tr[data-menu='3.2.2.1']")).to_contain_text("รอเมนู 3.2.2")

    # --- 3.2.2.1 before 3.2.2 is complete: the grid says why and saving is refused ------------
    page.locator("a[data-class='09-1-3.2.2.1']").click()
    expect(page.get_by_text("ต้องทำเมนู 3.2.2 ให้ครบก่อน")).to_be_visible()

    # --- 3.2.2: fill "passed, 1 year" for the class, make one a repeater, a bad value first ---
    page.goto(f"{base}/yearend/")
    page.locator("a[data-class='09-1-3.2.2']").click()
    page.locator("#fill-pass").click()
    first, second, third = (page.locator(f"tr[data-student='{k.student_no}']") for k in kids)
    expect(first.locator("select")).to_have_value("pass")
    second.locator("select").select_option("fail")
    third.locator("input[inputmode=numeric]").fill("0")  # years studied must be 1-15
    with page.expect_navigation():
        page.locator("#save").click()
    expect(page.locator("#grid-error")).to_contain_text("ยังไม่ได้บันทึก")
    expect(page.get_by_role("alert").filter(has_text="จำนวนปีที่เรียนต้องเป็นจำนวนเต็ม")).to_be_visible()
    assert (
        not Enrolment.objects.filter(pk__in=[k.pk for k in kids]).exclude(year_result="").exists()
    )
    # what was typed is still there; fix the one field and save with the keyboard
    expect(second.locator("select")).to_have_value("fail")
    third.locator("input[inputmode=numeric]").fill("1")
    with page.expect_navigation():
        third.locator("input[inputmode=numeric]").press("Enter")
    expect(page.get_by_role("status")).to_contain_text("บันทึกแล้ว 3 คน")
    results = dict(
        Enrolment.objects.filter(pk__in=[k.pk for k in kids]).values_list("pk", "year_result")
    )
    assert results == {kids[0].pk: "pass", kids[1].pk: "fail", kids[2].pk: "pass"}

    # --- 3.2.2.1: the repeater's evaluations not passed ---------------------------------------
    page.goto(f"{base}/yearend/")
    expect(steps.locator("tr[data-menu='3.2.2'] .pending")).to_have_text("0")
    page.locator("a[data-class='09-1-3.2.2.1']").click()
    repeater = page.locator(f"tr[data-student='{kids[1].student_no}']")
    expect(page.locator("tbody tr[data-student]")).to_have_count(1)
    repeater.get_by_label("ผลการเรียนรายวิชา").check()
    repeater.get_by_label("การอ่าน คิดวิเคราะห์ และเขียน").check()
    with page.expect_navigation():
        page.locator("#save").click()
    expect(page.get_by_role("status")).to_contain_text("บันทึกแล้ว 1 คน")
    assert Enrolment.objects.get(pk=kids[1].pk).failed_evaluations == "1,2"

    # --- 3.2.2.2: the two graduates' destinations ----------------------------------------------
    page.goto(f"{base}/yearend/")
    page.locator("a[data-class='09-1-3.2.2.2']").click()
    expect(page.locator("tbody tr[data-student]")).to_have_count(2)
    page.locator(f"tr[data-student='{kids[0].student_no}'] select").select_option("12")
    page.locator(f"tr[data-student='{kids[2].student_no}'] select").select_option("13")
    with page.expect_navigation():
        page.locator("#save").click()
    expect(page.get_by_role("status")).to_contain_text("บันทึกแล้ว 2 คน")

    # --- all three steps complete; nothing year-end is left on the checklist -----------------
    page.goto(f"{base}/yearend/")
    for menu in ("3.2.2", "3.2.2.1", "3.2.2.2"):
        expect(steps.locator(f"tr[data-menu='{menu}'] .pending")).to_have_text("0")
    page.get_by_role("link", name="ตรวจสอบและยืนยันข้อมูล").click()
    expect(page.locator("table.checklist")).not_to_contain_text("L8")
    page.goto(f"{base}/yearend/learning/")
    expect(page.locator("#learning")).to_contain_text("ป.6")
    expect(page.locator("#destinations")).to_contain_text("ศึกษาต่อโรงเรียนอื่น สังกัด สพฐ.")
