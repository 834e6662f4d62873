"""The director's certification PDF: rendered, rasterised with pypdfium2, and its Thai title
checked by picture against references the test makes itself (extracted text from Thai PDFs is
unreliable). The check fails if the Thai font is missing (tofu boxes or another font)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pypdfium2 as pdfium
from django.test import Client
from PIL import Image, ImageChops, ImageDraw, ImageFont

from dmc.rounds import certificate
from dmc.rounds.models import SchoolRound
from tests.conftest import World, login
from tests.test_round_services import certify, confirm, confirm_day, ready, round3

TITLE = "แบบรับรองข้อมูลนักเรียนรายบุคคล"
DPI = 144
SCALE = DPI / 72
PT = 21  # the title's size in the template


def _confirmed(world: World, *, certified: bool = True) -> None:
    ready(world, world.school_a1, 2)
    with confirm_day(10):
        confirm(world, world.school_a1)
        if certified:
            certify(world, world.school_a1)


def _page_image(pdf: bytes) -> Image.Image:
    doc = pdfium.PdfDocument(pdf)
    image = doc[0].render(scale=SCALE).to_pil().convert("L")
    doc.close()
    return image


def _ink(image: Image.Image) -> Image.Image:
    """The image cropped to its dark pixels."""
    mask = image.point(lambda v: 255 if v < 160 else 0)
    box = mask.getbbox()
    assert box is not None, "no ink at all"
    return image.crop(box)


def _title_band(image: Image.Image) -> Image.Image:
    """The first line of text on the page (its marks above and below included): from the first
    row with ink down to the first gap of 12 blank rows (2 mm at this resolution)."""
    mask = image.point(lambda v: 255 if v < 160 else 0)
    rows = [mask.crop((0, y, mask.width, y + 1)).getbbox() is not None for y in range(mask.height)]
    top = rows.index(True)
    bottom, blank = top, 0
    for y in range(top, len(rows)):
        if rows[y]:
            bottom, blank = y, 0
        else:
            blank += 1
            if blank >= 12:
                break
    return _ink(image.crop((0, top, image.width, bottom + 1)))


def _laksaman_file() -> str:
    command = ["fc-match", "-f", "%{family}|%{file}", "Laksaman"]  # fontconfig's own tool
    out = subprocess.run(command, capture_output=True, text=True).stdout
    family, _, path = out.partition("|")
    assert "Laksaman" in family, f"the Thai font Laksaman (fonts-thai-tlwg) is missing: {out}"
    return path


def _similar(a: Image.Image, b: Image.Image) -> float:
    """1 - mean absolute difference after scaling b to a's size (0..1)."""
    b = b.resize(a.size)
    diff = ImageChops.difference(a, b)
    hist = diff.histogram()
    mean = sum(i * n for i, n in enumerate(hist)) / (a.width * a.height)
    return 1 - mean / 255


def test_certificate_pdf_title_is_thai_text_in_laksaman(world: World) -> None:
    _confirmed(world)
    pdf = certificate.certificate_pdf_bytes(world.school_a1, round3())
    assert pdf.startswith(b"%PDF")
    page = _page_image(pdf)
    got = _title_band(page)
    Path("var").mkdir(exist_ok=True)
    page.save("var/certificate-page1.png")
    # reference 1: the same string through a minimal WeasyPrint page with Laksaman only
    html = (
        "<html><head><style>@page{size:A4;margin:18mm 16mm}"
        "body{margin:0;line-height:1.35}"
        f"h1{{font-family:'Laksaman';font-size:{PT}pt;text-align:center;margin:0}}"
        f"</style></head><body><h1>{TITLE}</h1></body></html>"
    )
    want = _title_band(_page_image(certificate.render_pdf(html)))
    assert abs(got.width - want.width) <= 3 and abs(got.height - want.height) <= 3
    assert _similar(got, want) > 0.97
    # reference 2: FreeType drawing the Laksaman file directly (no fallback possible): the ink is
    # as wide as the font says this string is. Tofu (a box per code point, marks included) or any
    # other font would be far off.
    font = ImageFont.truetype(_laksaman_file(), size=round(PT * SCALE))
    left, _, right, _ = font.getbbox(TITLE)
    assert abs(got.width - (right - left)) / (right - left) < 0.08
    canvas = Image.new("L", (int(right - left) + 40, int(PT * SCALE * 2)), 255)
    ImageDraw.Draw(canvas).text((20, 10), TITLE, font=font, fill=0)
    drawn = _ink(canvas)
    assert abs(got.height - drawn.height) / drawn.height < 0.2
    # a tofu rendering of the same string is clearly different: boxes, one per code point
    tofu = Image.new("L", canvas.size, 255)
    d = ImageDraw.Draw(tofu)
    step = (right - left) / len(TITLE)
    for i in range(len(TITLE)):
        x = 20 + i * step
        d.rectangle((x + 1, 10, x + step - 2, 10 + PT * SCALE * 0.7), outline=0, width=2)
    assert _similar(got, want) - _similar(got, _ink(tofu)) > 0.05


def test_certificate_content_and_scoping(world: World, client: Client) -> None:
    _confirmed(world)
    ctx = certificate.certificate_context(world.school_a1, round3())
    sr = SchoolRound.objects.get(school=world.school_a1, round=round3())
    assert ctx["snapshot"].sha256 == sr.snapshot.sha256
    assert ctx["sums"]["total"] == 2 and ctx["certified_at_be"].endswith("10:00:00")
    assert "2565" in ctx["confirmed_at_be"]  # Buddhist era
    login(client, world.users["director_a1"])
    response = client.get("/round/certificate.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    client.logout()
    login(client, world.users["area_a"])
    dashboard = client.get("/area/round/").content.decode()
    assert "/round/certificate.pdf?round=" in dashboard and "school=10010001" in dashboard
    assert client.get("/round/certificate.pdf?school=10010001").status_code == 200
    assert client.get("/round/certificate.pdf?school=42010001").status_code == 403
    client.logout()
    login(client, world.users["officer_b1"])
    # own school only: b1 has not confirmed
    assert client.get("/round/certificate.pdf?school=10010001").status_code == 409


def test_no_certificate_before_confirmation(world: World, client: Client) -> None:
    login(client, world.users["director_a1"])
    response = client.get("/round/certificate.pdf")
    assert response.status_code == 409
    assert "ยังไม่ได้ยืนยัน" in response.content.decode()
