"""PDPA in a real browser (issue 9): an area officer opens a student of their area, is asked
for a purpose, gives one and sees the record; the student's access report then shows that read.
Runs under the production CSP (the page fixture fails a test on any CSP violation)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dmc.core.models import AccessEvent
from tests.conftest import World
from tests.e2e.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_area_officer_states_a_purpose_then_the_report_shows_the_read(
    live_server: Any, page: Page, world: World
) -> None:
    base = live_server.url
    student = world.add_student(first_name="ดวงใจ", sex="F", title_code="002")
    browser_login(page, base, "area_a")

    page.goto(f"{base}/students/{student.pk}/")
    # asked first, nothing identifiable shown yet
    expect(page).to_have_url(
        f"{base}/privacy/purpose/?school=10010001&next=%2Fstudents%2F{student.pk}%2F"
    )
    expect(page.get_by_role("heading", level=1)).to_have_text("ระบุวัตถุประสงค์การเข้าถึงข้อมูลส่วนบุคคล")
    expect(page.get_by_text("ดวงใจ")).to_have_count(0)
    # "other" without a description is refused, with the reason
    page.locator("select[name=code]").select_option("99")
    with page.expect_navigation():
        page.get_by_role("button", name="ยืนยันและดูข้อมูล").click()
    expect(page.get_by_role("alert")).to_contain_text("ต้องระบุวัตถุประสงค์")
    page.locator("select[name=code]").select_option("02")
    with page.expect_navigation():
        page.get_by_role("button", name="ยืนยันและดูข้อมูล").click()
    expect(page).to_have_url(f"{base}/students/{student.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("ดวงใจ")
    assert list(AccessEvent.objects.values_list("kind", "purpose_code")) == [("detail", "02")]

    # the student's access report lists that read, by whom and why
    page.get_by_role("link", name="รายงานการเข้าถึงข้อมูลของนักเรียนคนนี้").click()
    expect(page).to_have_url(f"{base}/students/{student.pk}/access/")
    reads = page.locator("#reads table tbody tr")
    expect(reads).to_have_count(1)
    expect(reads.first).to_contain_text("ทดสอบ area_a")
    expect(reads.first).to_contain_text("เจ้าหน้าที่เขตพื้นที่")
    expect(reads.first).to_contain_text("ดูข้อมูลนักเรียนรายคน")
    expect(reads.first).to_contain_text("02 ติดตามการย้าย")
    expect(page.locator("#changes")).to_contain_text("เพิ่มนักเรียน")
