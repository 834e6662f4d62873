"""The school import through a real browser: a school officer uploads a file with a few bad rows,
sees each explained in Thai, confirms the good ones (the commit is queued: the progress page
shows the job waiting, a worker runs it, the page goes on to the result by itself), downloads the
refused rows as XLSX, fixes them and uploads that file again; every student is then on the list.

The server clock is frozen inside round 3's entry window of 2564 (``world``), so the upload form
carries the end-of-year declaration (everyone new sat the final exam here).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from dmc.core.models import AuditEvent
from dmc.jobs import worker
from dmc.students.models import Enrolment
from tests import import_corpus as corpus
from tests.conftest import YEAR, World
from tests.e2e.conftest import browser_login

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PREVIEW = re.compile(r"/imports/[0-9a-f]{32}/$")
RESULT = re.compile(r"/imports/[0-9a-f]{32}/result/$")
JOB = re.compile(r"/imports/jobs/\d+/$")
# remembers, across the navigation htmx makes afterwards, whether "กำลังตรวจสอบ…" was switched
# on while the upload was being sent
WATCH_INDICATOR = """
document.body.addEventListener('htmx:beforeSend', () => {
  const el = document.querySelector('.htmx-indicator');
  sessionStorage.setItem('indicator', el.classList.contains('htmx-request') + '|' + el.textContent);
});
"""


def _upload(page: Page, base: str, path: Path) -> None:
    page.goto(f"{base}/imports/")
    page.locator("#import-file").set_input_files(str(path))
    page.get_by_label("ขอรับรองว่านักเรียนที่เพิ่มหรือรับย้ายเข้าจากไฟล์นี้ทุกคน", exact=False).check()
    page.evaluate(WATCH_INDICATOR)
    page.get_by_role("button", name="ตรวจสอบไฟล์").click()
    expect(page).to_have_url(PREVIEW)
    shown = page.evaluate("sessionStorage.getItem('indicator')")
    assert shown is not None and shown.startswith("true|กำลังตรวจสอบ"), shown


def _confirm(page: Page) -> None:
    page.get_by_role("button", name="ยืนยันนำเข้า").click()
    expect(page).to_have_url(JOB)  # queued: the progress page polls it
    expect(page.locator("#import-job-state")).to_have_text("รอคิวนำเข้า")
    expect(page.locator("#import-job progress")).to_be_visible()
    assert worker.run_pending() == 1  # a worker runs the job
    expect(page).to_have_url(RESULT)  # the page's next poll goes on to the result
    expect(page.locator("#import-done")).to_contain_text("บันทึกข้อมูลแล้ว")


def test_upload_see_errors_download_quarantine_fix_and_reupload(
    live_server: Any, page: Page, world: World, tmp_path: Path, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"  # the kept uploads (the live server is a thread)
    settings.DMC_JOBS_INLINE = False  # the commit waits in the queue until the test runs it
    base = live_server.url
    src = corpus.source(12)
    rows = src.copy_rows()
    good_id = rows[7][2]
    rows[2] = corpus.with_cells(rows[2], ชั้น="ม.9")
    rows[5] = corpus.with_cells(rows[5], น้ำหนัก="500")
    rows[7] = corpus.with_cells(
        rows[7], เลขประจำตัวประชาชน=good_id[:12] + str((int(good_id[12]) + 3) % 10)
    )
    path = corpus.write(tmp_path / "students.csv", corpus.to_csv(src.header, rows, bom=True))

    browser_login(page, base, "officer_a1")
    page.goto(f"{base}/schools/10010001/students/")
    page.get_by_role("link", name="นำเข้าข้อมูลจากไฟล์").click()
    expect(page).to_have_url(f"{base}/imports/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("นำเข้าข้อมูลจากไฟล์")

    # 1. upload: the preview counts and explains every bad row in Thai; nothing saved yet
    _upload(page, base, path)
    expect(page.locator("[data-key=new]")).to_have_text("9")
    expect(page.locator("[data-key=rejected]")).to_have_text("3")
    problems = page.locator("#import-errors tbody tr")
    expect(problems).to_have_count(3)
    expect(problems.nth(0)).to_contain_text("4")
    expect(problems.nth(0)).to_contain_text("ค่า ม.9 ไม่อยู่ในรายการชั้นเรียน")
    expect(problems.nth(1)).to_contain_text("น้ำหนัก (กก.) 500 อยู่นอกช่วงที่เป็นไปได้")
    expect(problems.nth(2)).to_contain_text("หลักตรวจสอบ (หลักที่ 13) ควรเป็น")
    assert not Enrolment.objects.filter(school=world.school_a1).exists()

    # 2. confirm: the nine good rows are saved, the three bad ones are not
    _confirm(page)
    expect(page.locator("[data-key=new]")).to_have_text("9")
    assert Enrolment.objects.filter(school=world.school_a1, academic_year=YEAR).count() == 9

    # 3. download the refused rows, with the error column
    with page.expect_download() as info:
        page.locator("#quarantine-link").click()
    download = info.value
    assert download.suggested_filename.startswith("quarantine_10010001_")
    saved = tmp_path / "quarantine.xlsx"
    download.save_as(saved)
    wb = load_workbook(saved)
    ws = wb.worksheets[0]
    sheet = [list(r) for r in ws.iter_rows(values_only=True)]
    assert len(sheet) == 4 and sheet[0][39].startswith("ข้อผิดพลาด")
    assert [r[40] for r in sheet[1:]] == [4, 7, 9]
    assert sheet[1][39].startswith("ชั้น: ค่า ม.9")
    assert AuditEvent.objects.filter(action="export.quarantine").count() == 1

    # 4. fix the three rows in the downloaded file and upload it as it is
    ws.cell(row=2, column=4, value=src.rows[2][3])
    ws.cell(row=3, column=13, value="24.5")
    ws.cell(row=4, column=3, value=good_id)
    fixed = tmp_path / "fixed.xlsx"
    wb.save(fixed)
    _upload(page, base, fixed)
    expect(page.locator("[data-key=new]")).to_have_text("3")
    expect(page.locator("[data-key=rejected]")).to_have_text("0")
    expect(page.locator("#import-errors")).to_have_count(0)
    _confirm(page)

    # 5. every student is on the list
    page.get_by_role("link", name="ไปหน้ารายชื่อนักเรียน").click()
    expect(page).to_have_url(re.compile(r"/schools/10010001/students/"))
    table = page.locator("table.students")
    for s in src.students:
        expect(table).to_contain_text(f"{s.first_name} {s.last_name}")
    assert Enrolment.objects.filter(school=world.school_a1, academic_year=YEAR).count() == 12
