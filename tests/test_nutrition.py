"""Nutritional status (SPEC §9.1): classification against hand-checked points of the published
WHO LMS tables, the DoH band boundaries, each result naming its reference, the DoH cut-off file
loader refusing malformed files, "not classified" with a reason, and the pages/API scoped."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import Client
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from dmc.accounts.services import token_create
from dmc.core.errors import DmcError, ErrorCode
from dmc.nutrition import references, selectors
from dmc.nutrition.references import parse_cutoffs, scheme
from dmc.nutrition.rules import HEIGHT_BANDS, WEIGHT_BANDS, band_of_z, classify
from dmc.rounds.models import Round
from dmc.students.models import Enrolment
from tests.conftest import YEAR, World, login

AS_OF = dt.date(2022, 6, 10)
# 144 months exactly: 144 x 30.4375 = 4383 days
BORN_144M = AS_OF - dt.timedelta(days=4383)
# 4 years: 1461 days (WHO 2006 is by day)
BORN_1461D = AS_OF - dt.timedelta(days=1461)


def lms(y: float, L: float, M: float, S: float) -> float:  # noqa: N803 - the table's names
    """The LMS z-score written out independently of the code under test."""
    return ((y / M) ** L - 1) / (L * S)


def who(sex: str, born: dt.date, weight: str | None, height: str | None, key: str = "who"):  # type: ignore[no-untyped-def]
    return classify(
        sex=sex,
        birth_date=born,
        as_of=AS_OF,
        weight_kg=Decimal(weight) if weight else None,
        height_cm=Decimal(height) if height else None,
        scheme=scheme(key),
    )


# --- the bands at their boundaries ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("z", "weight", "height"),
    [
        ("-3.50", "ผอม", "เตี้ย"),
        ("-2.01", "ผอม", "เตี้ย"),
        ("-2.00", "ค่อนข้างผอม", "ค่อนข้างเตี้ย"),
        ("-1.51", "ค่อนข้างผอม", "ค่อนข้างเตี้ย"),
        ("-1.50", "สมส่วน", "สูงตามเกณฑ์"),
        ("0.00", "สมส่วน", "สูงตามเกณฑ์"),
        ("1.50", "สมส่วน", "สูงตามเกณฑ์"),
        ("1.51", "ท้วม", "ค่อนข้างสูง"),
        ("2.00", "ท้วม", "ค่อนข้างสูง"),
        ("2.01", "เริ่มอ้วน", "สูง"),
        ("3.00", "เริ่มอ้วน", "สูง"),
        ("3.01", "อ้วน", "สูง"),
    ],
)
def test_band_boundaries(z: str, weight: str, height: str) -> None:
    assert band_of_z(Decimal(z), WEIGHT_BANDS).th == weight
    assert band_of_z(Decimal(z), HEIGHT_BANDS).th == height


# --- WHO 2007 (5-19 years): hand-checked points ---------------------------------------------

# hfa_boys_z_WHO2007_exp.txt, month 144: L=1, M=149.0807, S=0.04753
HFA_B_144 = (1.0, 149.0807, 0.04753)
# bmi_girls_z_WHO2007_exp.txt, month 144: L=-1.4006, M=17.9966, S=0.13129
BMI_G_144 = (-1.4006, 17.9966, 0.13129)


@pytest.mark.parametrize(
    ("height", "z", "band"),
    [
        ("134.8", "-2.02", "เตี้ย"),  # (134.8/149.0807 - 1)/0.04753 = -2.0154
        ("134.9", "-2.00", "ค่อนข้างเตี้ย"),  # -2.0013: rounds to -2.00, not below -2
        ("156.2", "1.00", "สูงตามเกณฑ์"),
        ("149.1", "0.00", "สูงตามเกณฑ์"),
    ],
)
def test_who2007_height_for_age_boy_144_months(height: str, z: str, band: str) -> None:
    assert round(lms(float(height), *HFA_B_144), 2) == float(z)
    r = who("M", BORN_144M, "40.0", height)
    assert r.height.z == Decimal(z)
    assert r.height.band.th == band
    assert r.reference == "WHO Growth Reference 5-19 2007"


@pytest.mark.parametrize(
    ("weight", "z", "band"),
    [
        ("51.0", "1.50", "สมส่วน"),  # BMI 22.667: z 1.5016 -> 1.50, the top of สมส่วน
        ("51.1", "1.51", "ท้วม"),
        ("54.0", "1.80", "ท้วม"),
        ("32.3", "-2.03", "ผอม"),  # below the -2 SD BMI 14.39 (32.38 kg at 150 cm)
    ],
)
def test_who2007_bmi_for_age_girl_144_months(weight: str, z: str, band: str) -> None:
    bmi = float(weight) / 1.5**2
    assert round(lms(bmi, *BMI_G_144), 2) == float(z)
    r = who("F", BORN_144M, weight, "150.0")
    assert r.weight.indicator == "bmi"
    assert r.weight.z == Decimal(z)
    assert r.weight.band.th == band


# --- WHO 2006 (under 5): weight-for-height and height-for-age ---------------------------------

# wfh boys 2-5 years, 100.0 cm: L=-0.3521, M=15.3576, S=0.08229
WFH_B_100 = (-0.3521, 15.3576, 0.08229)


@pytest.mark.parametrize(
    ("weight", "band"),
    [
        ("12.9", "ผอม"),  # z -2.19
        ("13.0", "ผอม"),  # -2.09: below -2 SD
        ("13.5", "ค่อนข้างผอม"),  # -1.60
        ("17.4", "สมส่วน"),  # 1.48
        ("18.3", "เริ่มอ้วน"),  # 2.07
        ("20.1", "อ้วน"),  # beyond +3 SD (19.883 kg)
    ],
)
def test_who2006_weight_for_height_boy_100cm(weight: str, band: str) -> None:
    z = lms(float(weight), *WFH_B_100)
    expected = band_of_z(Decimal(repr(z)).quantize(Decimal("0.01")), WEIGHT_BANDS)
    r = who("M", BORN_1461D, weight, "100.0")
    assert r.reference == "WHO Child Growth Standards 2006"
    assert r.weight.indicator == "wfh"
    assert r.weight.band.th == expected.th == band


def test_who2006_restricted_z_beyond_3sd() -> None:
    # WHO: beyond +3 SD the distance is measured in (SD3 - SD2) units: SD3 19.883, SD2 18.195
    l_, m_, s_ = WFH_B_100

    def at(k: float) -> float:
        return m_ * (1 + l_ * s_ * k) ** (1 / l_)

    expected = 3 + (22.0 - at(3)) / (at(3) - at(2))
    r = who("M", BORN_1461D, "22.0", "100.0")
    assert r.weight.z == Decimal(repr(expected)).quantize(Decimal("0.01"))
    assert r.weight.z != Decimal(repr(lms(22.0, *WFH_B_100))).quantize(Decimal("0.01"))


def test_who2006_height_for_age_girl_4_years() -> None:
    # lhfa girls day 1461: L=1, M=102.7312, S=0.04193 -> -2 SD at 94.116 cm
    r = who("F", BORN_1461D, "14.0", "94.0")
    assert r.height.z == Decimal(repr(lms(94.0, 1, 102.7312, 0.04193))).quantize(Decimal("0.01"))
    assert r.height.z == Decimal("-2.03") and r.height.band.th == "เตี้ย"
    # 94.1 cm: z = -2.0037, which rounds to -2.00: not below -2 SD
    assert who("F", BORN_1461D, "14.0", "94.1").height.band.th == "ค่อนข้างเตี้ย"


# --- not classified, never a crash ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("weight", "height", "born", "reason"),
    [
        (None, "140.0", BORN_144M, "weight missing"),
        ("40.0", None, BORN_144M, "height missing"),
        ("40.0", "250.0", BORN_144M, "implausible"),
        ("400.0", "140.0", BORN_144M, "implausible"),
        ("90.0", "100.0", BORN_144M, "BMI 90.0 is implausible"),
        ("40.0", "80.0", BORN_144M, "beyond ±6 SD"),
        ("60.0", "170.0", AS_OF - dt.timedelta(days=25 * 365), "outside the reference"),
    ],
)
def test_not_classified_with_the_reason(
    weight: str | None, height: str | None, born: dt.date, reason: str
) -> None:
    r = who("M", born, weight, height)
    assert not r.classified
    assert reason in r.weight.reason_en + " " + r.height.reason_en
    assert r.weight.reason_th or r.height.reason_th


def test_missing_birth_date_is_not_classified() -> None:
    r = classify(
        sex="M",
        birth_date=None,
        as_of=AS_OF,
        weight_kg=Decimal(30),
        height_cm=Decimal(130),
        scheme=scheme("who"),
    )
    assert r.weight.band.key == "not_classified" and r.reference == ""


# --- DoH cut-off references ----------------------------------------------------------------------


def test_doh_example_reference_is_used_and_recorded() -> None:
    # the shipped example: wfh,M,130 -> 22.6, 23.5, 31.7, 33.9, 39.7
    cases = {
        "22.5": "ผอม",
        "22.6": "ค่อนข้างผอม",
        "23.5": "สมส่วน",
        "31.7": "สมส่วน",
        "31.8": "ท้วม",
        "33.9": "ท้วม",
        "34.0": "เริ่มอ้วน",
        "39.7": "เริ่มอ้วน",
        "39.8": "อ้วน",
    }
    for weight, band in cases.items():
        r = who("M", BORN_144M, weight, "130.0", key="doh-2021-example")
        assert r.weight.band.th == band, weight
        assert r.weight.z is None  # cut-off tables give no z-score
        assert r.reference == "Thai DoH 2564 (example)"
        assert r.reference_example
    # under 6 years the scheme falls back to WHO 2006, and says so
    young = who("M", BORN_1461D, "15.0", "100.0", key="doh-2021-example")
    assert young.reference == "WHO Child Growth Standards 2006"


GOOD = """# dmc-growth-cutoffs/1
# name: Test DoH
# version: t1
# ages_months: 72-228
indicator,sex,x,sd_m2,sd_m1_5,sd_p1_5,sd_p2,sd_p3
hfa,M,72,100,105,120,125,
hfa,M,73,101,106,121,126,
hfa,F,72,100,105,120,125,
hfa,F,73,101,106,121,126,
wfh,M,100,12,13,18,19,21
wfh,M,101,12.5,13.5,18.5,19.5,21.5
wfh,F,100,12,13,18,19,21
wfh,F,101,12.5,13.5,18.5,19.5,21.5
"""


def test_doh_loader_accepts_a_good_file_and_interpolates() -> None:
    ref = parse_cutoffs(GOOD, "good.csv")
    assert (ref.name, ref.version, ref.kind) == ("Test DoH", "t1", "cutoffs")
    found = ref.tables["wfh"].lookup("M", 100.5, 0)
    assert found.cutoffs == pytest.approx((12.25, 13.25, 18.25, 19.25, 21.25))


@pytest.mark.parametrize(
    ("broken", "line", "needle"),
    [
        (GOOD.replace("# dmc-growth-cutoffs/1", "# something else"), 1, "first line"),
        (GOOD.replace("# version: t1\n", ""), "header", "version"),
        (GOOD.replace("# ages_months: 72-228", "# ages_months: soon"), "ages_months", "range"),
        (GOOD.replace("sd_p3", "sd_plus3"), 5, "column header"),
        (GOOD.replace("hfa,M,73,101", "hfa,M,73,abc"), 7, "not a number"),
        (GOOD.replace("wfh,M,100,12,13", "wfh,M,100,14,13"), 10, "increase"),
        (GOOD.replace("hfa,M,73", "hfa,M,72"), 7, "x must increase"),
        (GOOD.replace("hfa,F,73,101,106,121,126,", "hfa,F,73,101,106,121,126,130"), 9, "sd_p3"),
        (GOOD.replace("wfh,F,", "wfh,X,"), 12, "sex"),
        (
            GOOD.replace("wfh,F,100,12,13,18,19,21\nwfh,F,101,12.5,13.5,18.5,19.5,21.5\n", ""),
            "-",
            "no wfh",
        ),
        (GOOD.replace("hfa,M,72,100,105,120,125,", "bmi,M,72,100,105,120,125,"), 6, "indicator"),
        (GOOD.replace("wfh,M,100,12,13,18,19,21", "wfh,M,100,12,13,18,19"), 10, "columns"),
    ],
)
def test_doh_loader_refuses_malformed_files(broken: str, line: object, needle: str) -> None:
    with pytest.raises(DmcError) as exc:
        parse_cutoffs(broken, "bad.csv")
    err = exc.value
    assert err.code == ErrorCode.NUTRITION_REFERENCE_INVALID
    assert err.params["line"] == line
    assert needle in err.message_in("en")
    assert "bad.csv" in err.message_in("th")


def test_doh_file_from_the_configured_folder_becomes_a_scheme(
    tmp_path: Path, settings: object
) -> None:
    (tmp_path / "doh-test.csv").write_text(GOOD, encoding="utf-8")
    settings.DMC_NUTRITION_DIR = str(tmp_path)  # type: ignore[attr-defined]
    references.schemes.cache_clear()
    try:
        assert "doh-test" in references.schemes()
        assert scheme("doh-test").references[0].version == "t1"
        (tmp_path / "doh-broken.csv").write_text("nonsense", encoding="utf-8")
        references.schemes.cache_clear()
        with pytest.raises(DmcError) as exc:
            references.schemes()
        assert exc.value.code == ErrorCode.NUTRITION_REFERENCE_INVALID
    finally:
        settings.DMC_NUTRITION_DIR = ""  # type: ignore[attr-defined]
        references.schemes.cache_clear()


def test_unknown_scheme_is_refused() -> None:
    with pytest.raises(DmcError) as exc:
        scheme("nope")
    assert exc.value.code == ErrorCode.NUTRITION_REFERENCE_UNKNOWN


# --- pages, API, scoping -------------------------------------------------------------------------


def _round3() -> Round:
    return Round.objects.select_related("academic_year").get(academic_year__year=YEAR, number=3)


@pytest.fixture
def kids(world: World) -> World:
    """a1: one proportionate boy, one wasted girl (BMI far below -2 SD), one without weight;
    a2 and b1: one proportionate boy each."""
    world.add_student(world.school_a1, birth_date=dt.date(2013, 6, 1))
    thin = world.add_student(
        world.school_a1, sex="F", title_code="002", birth_date=dt.date(2012, 1, 1)
    )
    Enrolment.objects.filter(pk=thin.pk).update(
        weight_kg=Decimal("24.0"), height_cm=Decimal("150.0")
    )
    nothing = world.add_student(world.school_a1, birth_date=dt.date(2013, 1, 1))
    Enrolment.objects.filter(pk=nothing.pk).update(weight_kg=None)
    world.add_student(world.school_a2)
    world.add_student(world.school_b1)
    return world


def test_school_table_counts_and_at_risk(kids: World) -> None:
    table, children = selectors.school_table(
        actor=kids.actors["officer_a1"], school=kids.school_a1, r=_round3()
    )
    assert table.total.total == 3
    assert table.total.weight["wasted"] == 1
    assert table.total.weight["not_classified"] == 1
    assert table.total.weight["proportionate"] == 1
    assert table.as_of == _round3().as_of_date
    risky = selectors.at_risk(children)
    assert [k.result.weight.band.th for k in risky] == ["ผอม"]
    assert risky[0].masked_id.startswith("x-xxxx-xxxx")
    assert [k.result.weight.reason_en for k in selectors.not_classified(children)] == [
        "weight missing"
    ]
    assert dict(table.total.references) == {"WHO Growth Reference 5-19 2007": 3}


def test_area_table_is_the_sum_of_its_schools_and_scoped(kids: World) -> None:
    area = kids.area_a
    table = selectors.area_table(actor=kids.actors["area_a"], area=area, r=_round3())
    assert [r.key for r in table.rows] == ["10010001", "10010002"]
    assert table.total.total == sum(r.total for r in table.rows) == 4
    assert selectors.area_table(actor=kids.actors["obec"], area=area, r=_round3()).total.total == 4
    for name in ("area_b", "officer_a1"):
        with pytest.raises(DmcError) as exc:
            selectors.area_table(actor=kids.actors[name], area=area, r=_round3())
        assert exc.value.code == ErrorCode.NOT_IN_SCOPE
    with pytest.raises(DmcError):
        selectors.school_table(actor=kids.actors["officer_b1"], school=kids.school_a1, r=_round3())


def test_school_page_shows_bands_chart_and_at_risk(kids: World, client: Client) -> None:
    login(client, kids.users["officer_a1"])
    page = client.get("/nutrition/").content.decode()
    assert "<svg" in page and 'data-band="wasted"' in page
    assert "ผอม" in page and "สมส่วน" in page and "สูงตามเกณฑ์" in page
    assert 'id="at-risk-table"' in page and "x-xxxx-xxxx" in page
    assert "WHO Growth Reference 5-19 2007" in page
    assert "ไม่มีน้ำหนัก" in page  # the not-classified reason, in Thai
    # the school cannot look at another school: its own is always shown
    other = client.get("/nutrition/?school=42010001").content.decode()
    assert "โรงเรียนบ้านหนึ่ง" in other and "โรงเรียนบ้านเลย" not in other


def test_area_page_lists_its_schools_without_the_childrens_names(
    kids: World, client: Client
) -> None:
    login(client, kids.users["area_a"])
    page = client.get("/nutrition/").content.decode()
    assert "โรงเรียนบ้านหนึ่ง" in page and "โรงเรียนบ้านสอง" in page
    assert "โรงเรียนบ้านเลย" not in page
    assert 'id="at-risk-table"' not in page
    assert client.get("/nutrition/?school=10010001").status_code == 200
    assert client.get("/nutrition/?school=42010001").status_code == 403


def test_xlsx_downloads(kids: World, client: Client) -> None:
    login(client, kids.users["officer_a1"])
    response = client.get("/nutrition/table.xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "ชั้น" and rows[-1][2] == 3
    risk = client.get("/nutrition/table.xlsx?list=at_risk")
    ws = load_workbook(io.BytesIO(risk.content)).active
    body = list(ws.iter_rows(values_only=True))[1:]
    assert len(body) == 1 and str(body[0][0]).startswith("x-xxxx-xxxx") and body[0][7] == "ผอม"
    client.logout()
    login(client, kids.users["area_a"])
    assert client.get("/nutrition/table.xlsx?school=10010001&list=at_risk").status_code == 404


def test_api_is_scoped_and_records_the_reference(kids: World) -> None:
    def api(name: str) -> Client:
        _, secret = token_create(actor=kids.actors[name], name="t")
        return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    rid = _round3().pk
    body = api("officer_a1").get(f"/api/v1/nutrition/rounds/{rid}/schools/10010001").json()
    assert body["total"]["students"] == 3
    assert body["at_risk"][0]["weight_band"] == "wasted"
    assert body["at_risk"][0]["reference"] == "WHO Growth Reference 5-19 2007"
    assert "masked_id" in body["at_risk"][0] and "name" not in body["at_risk"][0]
    doh = (
        api("officer_a1")
        .get(f"/api/v1/nutrition/rounds/{rid}/schools/10010001?ref=doh-2021-example")
        .json()
    )
    assert doh["scheme_example"] is True
    assert "Thai DoH 2564 (example)" in doh["total"]["references"]
    assert (
        api("officer_b1").get(f"/api/v1/nutrition/rounds/{rid}/schools/10010001").status_code == 403
    )
    area = api("area_a").get(f"/api/v1/nutrition/rounds/{rid}/areas/1001").json()
    assert area["total"]["students"] == 4 and "at_risk" not in area
    assert api("area_b").get(f"/api/v1/nutrition/rounds/{rid}/areas/1001").status_code == 403
    refs = api("area_b").get("/api/v1/nutrition/references").json()
    assert {r["key"] for r in refs} >= {"who", "doh-2021-example"}
    bad = api("officer_a1").get(f"/api/v1/nutrition/rounds/{rid}/schools/10010001?ref=zzz")
    assert bad.status_code == 400 and bad.json()["code"] == "nutrition_reference_unknown"


def test_check_command_accepts_the_example_and_refuses_a_broken_file(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command(
        "nutrition_reference", str(references.DATA_DIR / "doh-2021-example.csv"), stdout=out
    )
    assert "EXAMPLE FIGURES" in out.getvalue() and out.getvalue().rstrip().endswith("OK")
    bad = tmp_path / "bad.csv"
    bad.write_text(GOOD.replace("hfa,M,73,101", "hfa,M,73,abc"), encoding="utf-8")
    with pytest.raises(CommandError, match="line 7"):
        call_command("nutrition_reference", str(bad))


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    sex=st.sampled_from(["M", "F"]),
    age_days=st.integers(min_value=-30, max_value=30 * 365),
    weight=st.one_of(st.none(), st.decimals(min_value=0, max_value=999, places=1)),
    height=st.one_of(st.none(), st.decimals(min_value=0, max_value=999, places=1)),
    key=st.sampled_from(["who", "doh-2021-example"]),
)
def test_classify_never_raises_and_always_explains(
    sex: str, age_days: int, weight: Decimal | None, height: Decimal | None, key: str
) -> None:
    r = classify(
        sex=sex,
        birth_date=AS_OF - dt.timedelta(days=age_days),
        as_of=AS_OF,
        weight_kg=weight,
        height_cm=height,
        scheme=scheme(key),
    )
    for m in (r.weight, r.height):
        if m.band.key == "not_classified":
            assert m.reason_th and m.reason_en
        else:
            assert r.reference  # a band always names the reference that gave it
