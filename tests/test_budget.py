"""Per-head budget (SPEC §9.2): hand-computed amounts from sealed counts, rounding stated and
applied per school and item, area = sum of schools, nation = sum of areas, the rate-file loader's
refusals, rounds a table does not fund, and scoping."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from dmc.budget import rates, rules, selectors
from dmc.core.errors import DmcError, ErrorCode
from dmc.schools.models import SchoolGrade
from dmc.students.models import Enrolment, Person
from tests.conftest import YEAR, World, login
from tests.test_round_services import add, confirm, confirm_day, fit_rooms, round3

TABLE: dict[str, Any] = {
    "format": "dmc-budget-rates/1",
    "name": "ทดสอบ",
    "version": "test-1",
    "example": True,
    "effective_from": "2021-05-16",
    "rounding": "ROUND_HALF_UP to 0.01 baht per school and item",
    "round_semester": {"1": 1, "2": 2, "3": 2},
    "levels": {
        "primary": {"grades": ["04", "05", "06", "07", "08", "09"]},
        "lower_secondary": {"grades": ["10", "11", "12"]},
    },
    "items": [
        {
            "code": "teaching",
            "basis": "counted",
            "rates": {"primary": ["950", "1000.005"], "lower_secondary": ["1750", "1800"]},
        },
        {
            "code": "poor",
            "basis": "disadvantaged",
            "rates": {"primary": ["500", "500"], "lower_secondary": ["1500", "1500"]},
        },
    ],
}


@pytest.fixture
def table_dir(tmp_path: Path, settings: Any) -> Iterator[Path]:
    (tmp_path / "test.json").write_text(json.dumps(TABLE), encoding="utf-8")
    settings.DMC_BUDGET_DIR = str(tmp_path)
    rates.tables.cache_clear()
    yield tmp_path
    settings.DMC_BUDGET_DIR = ""
    rates.tables.cache_clear()


def test_school_amounts_by_hand() -> None:
    t = rates.parse(TABLE)
    # semester 1: 10 primary (two grades) and 3 lower-secondary heads, 2 poor primary
    amounts = rules.school_amounts(t, 1, {"05": 6, "09": 4, "10": 3, "01": 5}, {"05": 2})
    assert amounts == {
        "teaching": Decimal("14750.00"),  # 10 x 950 + 3 x 1750 (grade 01 is in no level)
        "poor": Decimal("1000.00"),  # 2 x 500
    }


def test_rounding_half_up_per_school_and_item() -> None:
    t = rates.parse(TABLE)
    # semester 2: 1000.005 per primary head
    assert rules.school_amounts(t, 2, {"04": 1}, {})["teaching"] == Decimal("1000.01")
    assert rules.school_amounts(t, 2, {"04": 3}, {})["teaching"] == Decimal("3000.02")  # .015
    assert rules.school_amounts(t, 2, {"04": 2}, {})["teaching"] == Decimal("2000.01")  # .010


def test_example_table_is_labelled_and_loads() -> None:
    shipped = rates.load(rates.DATA_DIR / "rates-2565-example.json")
    assert shipped.example and "EXAMPLE" in shipped.note_en and "ตัวอย่าง" in shipped.note_th
    assert {i.code for i in shipped.items} == {
        "teaching",
        "textbooks",
        "materials",
        "uniforms",
        "activities",
        "poor",
    }
    assert shipped.round_semester == {1: 1, 2: 2}


def _broken(**change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(TABLE)
    doc.update(change)
    return doc


@pytest.mark.parametrize(
    ("doc", "where"),
    [
        (_broken(format="x"), "format"),
        (_broken(effective_from="16/05/2564"), "effective_from"),
        (
            _broken(items=[{"code": "t", "basis": "counted", "rates": {"primary": ["-1", "0"]}}]),
            "items[0].primary",
        ),
        (
            _broken(items=[{"code": "t", "basis": "counted", "rates": {"primary": ["1", "1"]}}]),
            "items[0]",  # no rate for lower_secondary
        ),
        (
            _broken(items=[{"code": "t", "basis": "counted", "rates": {"nursery": ["1", "1"]}}]),
            "items[0].nursery",
        ),
        (_broken(items=[{"code": "t", "basis": "everyone", "rates": {}}]), "items[0]"),
        (_broken(round_semester={"1": 3}), "round_semester"),
        (_broken(levels={"a": {"grades": ["04"]}, "b": {"grades": ["04"]}}), "levels.b"),
    ],
)
def test_rate_file_refused_with_where(doc: dict[str, Any], where: str) -> None:
    with pytest.raises(DmcError) as exc:
        rates.parse(doc, "bad.json")
    assert exc.value.code == ErrorCode.BUDGET_RATES_INVALID
    assert exc.value.params["where"] == where
    assert "bad.json" in exc.value.message_in("th")


def _confirmed_world(world: World) -> None:
    """a1: 2 ป.2 boys (one poor) + 1 ม.1 girl; a2: 1 ป.2 boy; b1: 1 ป.2 boy; one a1 student is
    too old to be counted (D4) and must not be funded."""
    poor = add(world, world.school_a1)
    Person.objects.filter(pk=poor.person_id).update(disadvantaged="09")
    add(world, world.school_a1)
    SchoolGrade.objects.create(school=world.school_a1, academic_year=YEAR, grade="10", rooms=1)
    add(
        world,
        world.school_a1,
        grade="10",
        sex="F",
        title_code="002",
        birth_date=dt.date(2009, 6, 1),
    )
    old = add(
        world,
        world.school_a1,
        birth_date=dt.date(1999, 1, 1),
        title_code="003",
        weight=Decimal("60.0"),
        height=Decimal("168.0"),
    )
    assert not Enrolment.objects.get(pk=old.pk).counted
    add(world, world.school_a2)
    add(world, world.school_b1)
    for school in (world.school_a1, world.school_a2, world.school_b1):
        fit_rooms(world, school)
    with confirm_day(10):
        for school in (world.school_a1, world.school_a2, world.school_b1):
            confirm(world, school)


def test_school_area_nation_from_sealed_counts(world: World, table_dir: Path) -> None:
    _confirmed_world(world)
    r = round3()
    # the heads are the sealed rows; the disadvantaged category is read from each sealed row's
    # person (a person-level flag the snapshot does not copy): flag everyone after the seal
    Person.objects.update(disadvantaged="09")
    a1 = selectors.school_budget(actor=world.actors["officer_a1"], school=world.school_a1, r=r)
    assert a1.semester == 2 and a1.table.version == "test-1"
    line = a1.lines[0]
    assert line.confirmed and len(line.sha256) == 64
    assert line.counted == {"primary": 2, "lower_secondary": 1}
    # semester 2: 2 x 1000.005 + 1 x 1800 = 3800.01 (rounded); poor: 2 x 500 + 1 x 1500; the
    # uncounted (D4) student is in neither
    assert line.amounts["teaching"] == Decimal("3800.01")
    assert line.amounts["poor"] == Decimal("2500.00")
    area = selectors.area_budget(actor=world.actors["area_a"], area=world.area_a, r=r)
    assert [ln.key for ln in area.lines] == ["10010001", "10010002"]
    assert area.total.amounts["teaching"] == sum(
        (ln.amounts["teaching"] for ln in area.lines), Decimal(0)
    )
    assert area.total.amounts["teaching"] == Decimal("3800.01") + Decimal("1000.01")
    nation = selectors.nation_budget(actor=world.actors["obec"], r=r)
    assert [ln.key for ln in nation.lines] == ["1001", "4201"]
    assert nation.lines[0].amounts == area.total.amounts
    assert nation.total.total == sum((ln.total for ln in nation.lines), Decimal(0))


def test_unconfirmed_school_contributes_nothing(world: World, table_dir: Path) -> None:
    add(world, world.school_a1)
    fit_rooms(world, world.school_a1)
    area = selectors.area_budget(actor=world.actors["area_a"], area=world.area_a, r=round3())
    assert [ln.confirmed for ln in area.lines] == [False, False]
    assert area.total.total == Decimal("0.00") and area.total.unconfirmed == 2


def test_round_not_funded_by_the_example_table(world: World) -> None:
    with pytest.raises(DmcError) as exc:
        selectors.school_budget(
            actor=world.actors["officer_a1"], school=world.school_a1, r=round3()
        )
    assert exc.value.code == ErrorCode.BUDGET_ROUND_NOT_FUNDED


def test_budget_is_scoped(world: World, table_dir: Path) -> None:
    r = round3()
    with pytest.raises(DmcError):
        selectors.school_budget(actor=world.actors["officer_b1"], school=world.school_a1, r=r)
    with pytest.raises(DmcError):
        selectors.area_budget(actor=world.actors["area_b"], area=world.area_a, r=r)
    with pytest.raises(DmcError):
        selectors.nation_budget(actor=world.actors["area_a"], r=r)


def test_page_xlsx_and_api(world: World, table_dir: Path, client: Client) -> None:
    _confirmed_world(world)
    login(client, world.users["area_a"])
    page = client.get("/budget/").content.decode()
    assert 'id="example-rates"' in page and "test-1" in page and "4,800.02" in page
    assert "โรงเรียนบ้านเลย" not in page
    assert 'id="budget-rates"' in page and "1,000.005" in page  # the semester-2 primary rate
    x = client.get("/budget/table.xlsx")
    rows = list(load_workbook(io.BytesIO(x.content)).active.iter_rows(values_only=True))
    assert rows[1][0] == "10010001" and rows[3][1] == "รวม"
    assert client.get("/budget/?school=42010001").status_code == 403
    from dmc.accounts.services import token_create

    _, secret = token_create(actor=world.actors["obec"], name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = api.get(f"/api/v1/budget/rounds/{round3().pk}/nation").json()
    assert body["rate_table"]["example"] is True
    assert body["total"]["amounts"]["teaching"] == str(
        Decimal("3800.01") + Decimal("1000.01") + Decimal("1000.01")
    )
    _, secret = token_create(actor=world.actors["officer_a2"], name="t")
    own = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert own.get(f"/api/v1/budget/rounds/{round3().pk}/nation").status_code == 403
    assert own.get(f"/api/v1/budget/rounds/{round3().pk}/schools/10010001").status_code == 403


def test_page_for_a_round_the_table_does_not_fund(world: World, client: Client) -> None:
    login(client, world.users["officer_a1"])
    # without ?round= the page opens on the latest funded round of the year (round 2 here)
    default = client.get("/budget/")
    assert default.status_code == 200 and "ระยะที่ 2" in default.content.decode()
    response = client.get(f"/budget/?round={round3().pk}")
    assert response.status_code == 409
    page = response.content.decode()
    assert 'id="budget-error"' in page and "ไม่ใช้จัดสรร" in page
    r1 = round3().academic_year.rounds.get(number=1)
    ok = client.get(f"/budget/?round={r1.pk}")
    assert ok.status_code == 200 and 'id="example-rates"' in ok.content.decode()


def test_check_command_accepts_the_example_and_refuses_a_broken_file(tmp_path: Path) -> None:
    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command("budget_rates", str(rates.DATA_DIR / "rates-2565-example.json"), stdout=out)
    assert "EXAMPLE FIGURES" in out.getvalue() and "poor (disadvantaged)" in out.getvalue()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(_broken(round_semester={"1": 3})), encoding="utf-8")
    with pytest.raises(CommandError, match="round_semester"):
        call_command("budget_rates", str(bad))
