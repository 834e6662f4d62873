"""Reports through a real browser: an area officer opens the dashboard from the menu, sees the
charts (inline SVG with a title), drills from a number to the schools and on to the students
(masked IDs), and builds the area's workbook in the background, watching its progress."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dmc.core.ids import mask_person_id
from tests.conftest import World
from tests.e2e.conftest import browser_login
from tests.test_reports import add

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_area_officer_drills_from_the_dashboard_to_the_students(
    live_server: Any, page: Page, world: World
) -> None:
    base = live_server.url
    girl = add(world, world.school_a1, "05", "F")
    add(world, world.school_a1, "05", "F")
    add(world, world.school_a2, "05", "F")
    add(world, world.school_a2, "06", "M", age="old")  # listed, not counted (over 20)
    add(world, world.school_b1, "05", "F")  # another area: never shown to area A

    browser_login(page, base, "area_a")
    page.locator("nav.mainnav").get_by_role("link", name="รายงาน", exact=True).click()
    expect(page).to_have_url(f"{base}/reports/areas/1001/")
    chart = page.locator("svg[data-chart=totals-by-grade]")
    expect(chart).to_be_visible()
    expect(chart.locator("title").first).to_contain_text("จำนวนนักเรียนตามชั้น")
    expect(page.locator("#totals-table tr.total td").nth(1)).to_have_text("3")  # girls
    expect(page.locator("#totals-table tr.total td").nth(4)).to_have_text("1")  # not counted

    # ป.2 girls: 3 -> by school (2 + 1) -> the 2 students of school a1
    page.locator("a[data-cell='05-cf']").click()
    expect(page.locator("#cell-table tfoot")).to_contain_text("3")
    expect(page.locator("#cell-table tbody tr")).to_have_count(2)
    page.locator("a[data-part='10010001']").click()
    # PDPA (issue 9): the area office states why it opens the school's children's names
    page.locator("select[name=code]").select_option("01")
    page.get_by_role("button", name="ยืนยันและดูข้อมูล").click()
    expect(page.locator("#drill-count")).to_contain_text("2")
    rows = page.locator("#students-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#students-table")).to_contain_text(girl.person.first_name)
    expect(page.locator("#students-table")).to_contain_text(mask_person_id(girl.person.person_id))
    assert girl.person.person_id not in page.content()

    # the confirmation progress page has its chart over the deadline day
    page.locator("nav.subnav").get_by_role("link", name="ความก้าวหน้าการยืนยัน").click()
    expect(page.locator("svg[data-chart=confirm-progress]")).to_be_visible()
    expect(page.locator("#progress-table tbody tr")).to_have_count(2)

    # the area's per-school workbook, built in the background with its progress polled
    page.goto(f"{base}/reports/areas/1001/")
    page.get_by_role("button", name="สร้างไฟล์ Excel").click()
    link = page.locator("#job-status a.job-download")
    expect(link).to_be_visible(timeout=20_000)
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename.endswith(".xlsx")
