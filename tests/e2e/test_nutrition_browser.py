"""Nutrition and the certification PDF through a real browser: the school officer opens the
nutrition page and sees the bands, the chart and the child at risk; the director downloads the
certification form as a PDF."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from dmc.students.models import Enrolment
from tests.conftest import World
from tests.e2e.conftest import browser_login
from tests.test_round_services import certify, confirm, confirm_day, ready

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_school_sees_bands_chart_and_children_at_risk(
    live_server: Any, page: Page, world: World
) -> None:
    world.add_student(first_name="ปิติ")
    thin = world.add_student(first_name="ชูใจ", sex="F", title_code="002")
    Enrolment.objects.filter(pk=thin.pk).update(weight_kg=Decimal("19.0"))
    browser_login(page, live_server.url, "officer_a1")
    page.get_by_role("link", name="ภาวะโภชนาการ").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("ภาวะโภชนาการ")
    charts = page.locator("#nutrition-charts svg")
    expect(charts).to_have_count(2)
    expect(charts.first.locator('rect[data-band="wasted"]')).to_have_count(1)
    expect(page.locator("#nutrition-table thead")).to_contain_text("สมส่วน")
    expect(page.locator("#nutrition-table thead")).to_contain_text("สูงตามเกณฑ์")
    risk = page.locator("#at-risk-table tbody tr")
    expect(risk).to_have_count(1)
    expect(risk.first).to_contain_text("ชูใจ")
    expect(risk.first).to_contain_text("ผอม")
    expect(risk.first).to_contain_text("x-xxxx-xxxx")
    with page.expect_download() as download:
        page.get_by_role("link", name="ดาวน์โหลดรายชื่อกลุ่มเสี่ยง (Excel)").click()
    assert download.value.suggested_filename.endswith("-at-risk.xlsx")


def test_director_downloads_the_certification_pdf(
    live_server: Any, page: Page, world: World
) -> None:
    ready(world, world.school_a1, 2)
    with confirm_day(10):
        confirm(world, world.school_a1)
        certify(world, world.school_a1)
    browser_login(page, live_server.url, "director_a1")
    response = page.request.get(
        f"{live_server.url}/round/certificate.pdf", timeout=60_000
    )  # WeasyPrint's first render loads the Thai fonts: slow on a busy 2-core box
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    page.goto(f"{live_server.url}/round/")
    with page.expect_download() as download:
        page.get_by_role("link", name="พิมพ์แบบรับรองข้อมูล (PDF)").click()
    assert download.value.suggested_filename.startswith("certificate-10010001")
