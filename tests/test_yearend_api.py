"""End of year over the API, the results workbook and its import, and `dmc rollover`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from dmc.accounts.services import token_create
from dmc.core.errors import DmcError, ErrorCode
from dmc.students.models import Enrolment
from dmc.yearend import exchange, rollover
from dmc.yearend.models import RolloverJob
from tests.conftest import YEAR, World
from tests.movement_helpers import actions_since, mark
from tests.test_yearend import AFTER_CLOSE, close_round3

SMIS_A1 = "10010001"


def _api(world: World, name: str) -> Client:
    _, secret = token_create(actor=world.actors[name], name="sis")
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}")


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, json.dumps(body), content_type="application/json")


# --- the API -----------------------------------------------------------------------------------


def test_steps_and_students_over_the_api(world: World) -> None:
    e = world.add_student(grade="09", year_result="")
    api = _api(world, "officer_a1")
    steps = api.get(f"/api/v1/yearend/schools/{SMIS_A1}/steps").json()
    assert [(s["menu"], s["pending"], s["waiting_for"]) for s in steps] == [
        ("3.2.2", 1, None),
        ("3.2.2.1", 0, "3.2.2"),
        ("3.2.2.2", 0, "3.2.2"),
    ]
    rows = api.get(f"/api/v1/yearend/schools/{SMIS_A1}/students?grade=09").json()
    assert [(r["id"], r["year_result"], r["version"]) for r in rows] == [(e.pk, "", e.version)]
    assert "first_name" not in rows[0] and "person_id" not in rows[0]  # numbers, not names


def test_recording_steps_over_the_api(world: World) -> None:
    a, b = world.add_student(grade="09", year_result=""), world.add_student(year_result="")
    api = _api(world, "officer_a1")
    url = f"/api/v1/yearend/schools/{SMIS_A1}/steps"
    # strict (the default): one bad entry refuses the batch, the error shape names it
    r = _post(
        api,
        f"{url}/3.2.2",
        {
            "entries": [
                {"id": a.pk, "result": "pass", "years_studied": 1},
                {"id": b.pk, "result": "x", "years_studied": 1},
            ]
        },
    )
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "validation" and list(body["fields"]) == [str(b.pk)]
    assert Enrolment.objects.get(pk=a.pk).year_result == ""
    # the order (L8): 3.2.2.2 waits for 3.2.2
    r = _post(api, f"{url}/3.2.2.2", {"entries": [{"id": a.pk, "destination": "12"}]})
    assert r.status_code == 409 and r.json()["code"] == "year_end_order"
    r = _post(
        api,
        f"{url}/3.2.2",
        {
            "strict": False,
            "entries": [
                {"id": a.pk, "result": "pass", "years_studied": 6},
                {"id": b.pk, "result": "fail", "years_studied": 1},
            ],
        },
    )
    assert r.status_code == 200 and sorted(r.json()["saved"]) == sorted([a.pk, b.pk])
    r = _post(api, f"{url}/3.2.2.1", {"entries": [{"id": b.pk, "failed_evaluations": []}]})
    assert r.status_code == 400 and "ห้ามเว้นว่าง" in r.json()["fields"][str(b.pk)][0]
    r = _post(api, f"{url}/3.2.2.1", {"entries": [{"id": b.pk, "failed_evaluations": ["2"]}]})
    assert r.status_code == 200
    r = _post(api, f"{url}/3.2.2.2", {"entries": [{"id": a.pk, "destination": "12"}]})
    assert r.status_code == 200 and r.json()["saved"] == [a.pk]
    # unknown menu, other area's school, a director
    assert _post(api, f"{url}/3.2.3", {"entries": []}).status_code in (404, 422)
    other = _post(_api(world, "officer_b1"), f"{url}/3.2.2", {"entries": []})
    assert other.status_code == 403
    director = _post(_api(world, "director_a1"), f"{url}/3.2.2", {"entries": []})
    assert director.status_code == 403 and director.json()["code"] == "role_not_allowed"


def test_learning_results_are_scoped(world: World) -> None:
    world.add_student(grade="09")
    world.add_student(grade="06", year_result="fail")
    world.add_student(world.school_b1, grade="05")
    mine = _api(world, "area_a").get("/api/v1/yearend/learning").json()
    assert {r["grade"]: (r["passed"], r["failed"], r["graduated"]) for r in mine["rows"]} == {
        "09": (0, 0, 1),
        "06": (0, 1, 0),
    }
    assert mine["destinations"] == {"12": 1} and mine["evaluations"] == {"1": 1}
    nation = _api(world, "obec").get("/api/v1/yearend/learning").json()
    assert sum(r["passed"] for r in nation["rows"]) == 1
    assert (
        _api(world, "area_b").get(f"/api/v1/yearend/learning?school={SMIS_A1}").status_code == 403
    )
    assert _api(world, "area_b").get("/api/v1/yearend/learning?area=A").status_code in (403, 404)


def test_rollover_over_the_api(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from dmc.core import clock

    world.add_student(grade="05")
    obec = _api(world, "obec")
    r = _post(obec, f"/api/v1/rollover/{YEAR}", {})
    assert r.status_code == 409 and r.json()["code"] == "rollover_not_closed"
    close_round3(world)
    # the job runs in a thread in production; here, inline (the test's transaction)
    monkeypatch.setattr(
        rollover,
        "run_in_background",
        lambda job_id, actor: rollover.run(RolloverJob.objects.get(pk=job_id), actor=actor),
    )
    with clock.frozen(AFTER_CLOSE):
        plan = obec.get(f"/api/v1/rollover/{YEAR}/plan").json()
        assert plan["counts"]["promoted"] == 1 and plan["schools"] == 1
        assert _post(_api(world, "area_a"), f"/api/v1/rollover/{YEAR}", {}).status_code == 403
        r = _post(obec, f"/api/v1/rollover/{YEAR}", {})
        assert r.status_code == 202
        status = obec.get(f"/api/v1/rollover/{YEAR}").json()
        assert status["state"] == "done" and status["counts"]["promoted"] == 1
        again = _post(obec, f"/api/v1/rollover/{YEAR}", {})
        assert again.status_code == 200 and again.json()["state"] == "done"
    assert Enrolment.objects.filter(academic_year=YEAR + 1).count() == 1


# --- the workbook and its import ------------------------------------------------------------


def _fill(content: bytes, values: dict[str, dict[str, Any]]) -> Path:
    wb = load_workbook(io.BytesIO(content))
    ws = wb.active
    assert ws is not None
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        no = row[0].value
        for column, value in values.get(str(no), {}).items():
            row[header.index(column)].value = value
    out = Path(exchange.store_upload([b""]))
    wb.save(out)
    return out


def test_workbook_roundtrip_records_all_three_steps(world: World) -> None:
    grad = world.add_student(grade="09", year_result="")
    rep = world.add_student(grade="06", year_result="")
    content = exchange.results_workbook(world.school_a1, YEAR)
    head = exchange.COLUMNS
    path = _fill(
        content,
        {
            grad.student_no: {
                head["result"][0]: "สอบได้",
                head["years_studied"][0]: 6,
                head["destination"][0]: "14",
            },
            rep.student_no: {
                head["result"][0]: "สอบตก",
                head["years_studied"][0]: "๒",
                head["failed_evaluations"][0]: "1,3",
            },
        },
    )
    try:
        m = mark()
        dry = exchange.import_results(
            actor=world.actors["officer_a1"],
            school=world.school_a1,
            year=YEAR,
            path=path,
            dry_run=True,
        )
        assert (dry.saved, dry.refused) == (4, []) and actions_since(m) == []
        assert Enrolment.objects.get(pk=grad.pk).year_result == ""
        out = exchange.import_results(
            actor=world.actors["officer_a1"], school=world.school_a1, year=YEAR, path=path
        )
        assert (out.rows, out.saved, out.refused) == (2, 4, [])
        g, r = Enrolment.objects.get(pk=grad.pk), Enrolment.objects.get(pk=rep.pk)
        assert (g.year_result, g.years_studied, g.destination) == ("pass", 6, "14")
        assert (r.year_result, r.years_studied, r.failed_evaluations) == ("fail", 2, "1,3")
        again = exchange.import_results(
            actor=world.actors["officer_a1"], school=world.school_a1, year=YEAR, path=path
        )
        assert (again.saved, again.unchanged) == (0, 4)  # re-import is a no-op
    finally:
        path.unlink()


def _csv(text: str) -> Path:
    path = Path(exchange.store_upload([text.encode("utf-8-sig")]))
    return path


def test_bad_rows_are_named_and_strict_saves_nothing(world: World) -> None:
    a = world.add_student(year_result="")
    b = world.add_student(year_result="")
    path = _csv(
        "เลขประจำตัวนักเรียน,ผลการเรียน,จำนวนปีที่เรียน\n"
        f"{a.student_no},สอบได้,1\n"
        f"{b.student_no},,1\n"
        "99999,สอบได้,1\n"
    )
    try:
        out = exchange.import_results(
            actor=world.actors["officer_a1"], school=world.school_a1, year=YEAR, path=path
        )
        assert out.saved == 1
        assert [(r.row, r.code) for r in out.refused] == [
            (3, "year_result_required"),
            (4, "year_end_student_unknown"),
        ]
        Enrolment.objects.filter(pk=a.pk).update(year_result="")
        with pytest.raises(DmcError) as exc:
            exchange.import_results(
                actor=world.actors["officer_a1"],
                school=world.school_a1,
                year=YEAR,
                path=path,
                strict=True,
            )
        assert exc.value.code == ErrorCode.VALIDATION and set(exc.value.fields) == {"3", "4"}
        assert Enrolment.objects.get(pk=a.pk).year_result == ""
    finally:
        path.unlink()


def test_a_file_without_the_columns_is_refused(world: World) -> None:
    path = _csv("ชื่อ,นามสกุล\nก,ข\n")
    try:
        with pytest.raises(DmcError) as exc:
            exchange.import_results(
                actor=world.actors["officer_a1"], school=world.school_a1, year=YEAR, path=path
            )
        assert exc.value.code == ErrorCode.YEAR_END_HEADER
        assert "เลขประจำตัวนักเรียน" in exc.value.message_in("th")
    finally:
        path.unlink()


def test_import_page_and_workbook_download(world: World, client: Client) -> None:
    from tests.conftest import login

    e = world.add_student(year_result="")
    login(client, world.users["officer_a1"])
    r = client.get("/yearend/results.xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument"
    )
    buf = io.BytesIO(f"เลขประจำตัวนักเรียน,ผลการเรียน,จำนวนปีที่เรียน\n{e.student_no},pass,1\n".encode())
    buf.name = "results.csv"
    r = client.post("/yearend/import/", {"file": buf, "action": "commit"})
    assert r.status_code == 200 and "saved-count" in r.content.decode()
    assert Enrolment.objects.get(pk=e.pk).year_result == "pass"


def test_rollover_command(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    from dmc.core import clock

    world.add_student(grade="05")
    world.add_student(grade="09")
    close_round3(world)
    with clock.frozen(AFTER_CLOSE):
        call_command("rollover", str(YEAR), "--dry-run", "--json")
        dry = json.loads(capsys.readouterr().out)
        assert dry["dry_run"] and dry["counts"]["promoted"] == 1 and dry["counts"]["graduated"] == 1
        assert not Enrolment.objects.filter(academic_year=YEAR + 1).exists()
        call_command("rollover", str(YEAR), "--json")
        done = json.loads(capsys.readouterr().out)
    assert done["state"] == "done" and done["counts"]["promoted"] == 1
    assert Enrolment.objects.filter(academic_year=YEAR + 1).count() == 1


def test_pages_for_each_role(world: World, client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    from dmc.core import clock
    from tests.conftest import login

    world.add_student(grade="09")
    world.add_student(world.school_b1, grade="05", year_result="")
    login(client, world.users["officer_a1"])
    page = client.get("/yearend/").content.decode()
    assert "rollover-plan" in page and "3.2.2.1" in page
    assert client.get("/yearend/3.2.2/?grade=09&room=1").status_code == 200
    assert client.get("/yearend/9.9.9/?grade=09").status_code == 404
    assert client.get("/yearend/rollover/").status_code == 403  # schools do not roll over
    learning = client.get("/yearend/learning/").content.decode()
    assert "ป.6" in learning and "ป.4" not in learning  # own school only

    client.logout()
    login(client, world.users["area_b"])
    assert client.get(f"/yearend/?school={SMIS_A1}").status_code == 403
    page = client.get("/yearend/rollover/").content.decode()
    assert "rollover-dry-run" in page and "start-rollover" not in page  # read-only for areas
    assert client.post("/yearend/rollover/").status_code == 403

    client.logout()
    login(client, world.users["obec"])
    refused = client.post(f"/yearend/rollover/?year={YEAR}")
    assert refused.status_code == 409 and "ต้องปิดรอบสิ้นปีการศึกษา" in refused.content.decode()
    close_round3(world)
    monkeypatch.setattr(
        rollover,
        "run_in_background",
        lambda job_id, actor: rollover.run(RolloverJob.objects.get(pk=job_id), actor=actor),
    )
    with clock.frozen(AFTER_CLOSE):
        done = client.post(f"/yearend/rollover/?year={YEAR}")
        assert done.status_code == 302
        page = client.get(f"/yearend/rollover/?year={YEAR}").content.decode()
    assert 'data-state="done"' in page
    assert Enrolment.objects.filter(academic_year=YEAR + 1).count() == 1  # ป.6 graduates leave


def test_the_grid_can_be_done_in_several_sittings_but_never_blanked(
    world: World, client: Client
) -> None:
    from tests.conftest import login

    a = world.add_student(grade="06", year_result="fail", first_name="หนึ่ง")
    b = world.add_student(grade="06", year_result="fail", first_name="สอง")
    Enrolment.objects.filter(pk__in=[a.pk, b.pk]).update(failed_evaluations="")
    login(client, world.users["officer_a1"])
    url = "/yearend/3.2.2.1/?grade=06&room=1"
    a_version = Enrolment.objects.get(pk=a.pk).version
    b_version = Enrolment.objects.get(pk=b.pk).version
    # only the first repeater today: the second row is left empty, nothing recorded for it yet
    r = client.post(url, {f"v_{a.pk}": a_version, f"e_{a.pk}": ["2"], f"v_{b.pk}": b_version})
    assert r.status_code == 302
    assert Enrolment.objects.get(pk=a.pk).failed_evaluations == "2"
    assert Enrolment.objects.get(pk=b.pk).failed_evaluations == ""
    # unticking everything for the first one tries to blank a recorded answer: refused
    r = client.post(url, {f"v_{a.pk}": a_version + 1, f"v_{b.pk}": b_version})
    assert r.status_code == 400 and "ห้ามเว้นว่าง" in r.content.decode()
    assert Enrolment.objects.get(pk=a.pk).failed_evaluations == "2"
