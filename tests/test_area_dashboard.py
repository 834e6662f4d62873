"""The area's confirmation dashboard (issue 8): filter by state, search, 50 schools a page, and
every action returns to the filter and page it was sent from. The counts always cover the whole
area, whatever is shown."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

from django.test import Client, override_settings

from dmc.rounds.models import SchoolRound
from tests.conftest import World, login
from tests.test_round_services import certify, confirm, confirm_day, ready, round3


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr data-school="(\d+)">', html)


def _count(html: str, label: str) -> int:
    found = re.search(label + r":\s*<strong>(\d+)</strong>", html)
    assert found, label
    return int(found.group(1))


def _certified_a1(world: World) -> None:
    ready(world, world.school_a1, 2)
    with confirm_day(10):
        confirm(world, world.school_a1)
        certify(world, world.school_a1)


def _area(world: World, name: str = "area_a") -> Client:
    client = Client()
    login(client, world.users[name])
    return client


def test_filtering_by_state_shows_those_schools_and_keeps_the_whole_areas_counts(
    world: World,
) -> None:
    _certified_a1(world)
    client = _area(world)
    with confirm_day(11):
        everything = client.get("/area/round/").content.decode()
        assert _rows(everything) == ["10010001", "10010002"]
        certified = client.get("/area/round/?state=certified").content.decode()
        unknown = client.get("/area/round/?state=nonsense").content.decode()
    assert _rows(certified) == ["10010001"]
    assert _count(certified, "ทั้งหมด") == 2  # the counts cover the area, not the filter
    assert _count(certified, "รับรองแล้ว") == 1
    assert 'aria-current="true">รับรองแล้ว' in certified
    assert "แสดง 1 จาก 2 โรงเรียน" in certified
    assert _rows(unknown) == ["10010001", "10010002"]  # an unknown state is no filter


def test_search_finds_a_school_by_smis_code_or_by_part_of_its_name(world: World) -> None:
    client = _area(world)
    with confirm_day(11):
        by_code = client.get("/area/round/?q=10010002").content.decode()
        by_name = client.get("/area/round/?q=%E0%B8%AB%E0%B8%99%E0%B8%B6%E0%B9%88%E0%B8%87")  # หนึ่ง
        nothing = client.get("/area/round/?q=42010001").content.decode()  # another area's school
    assert _rows(by_code) == ["10010002"]
    assert _rows(by_name.content.decode()) == ["10010001"]
    assert _rows(nothing) == []
    assert "ไม่มีโรงเรียน" in nothing


@override_settings(DMC_AREA_PAGE_SIZE=1)
def test_fifty_schools_a_page_with_the_filter_kept_in_the_pager(world: World) -> None:
    client = _area(world)
    with confirm_day(11):
        first = client.get("/area/round/").content.decode()
        second = client.get("/area/round/?page=2").content.decode()
        beyond = client.get("/area/round/?page=99").content.decode()
        searched = client.get("/area/round/?q=%E0%B9%82%E0%B8%A3%E0%B8%87").content.decode()
    assert _rows(first) == ["10010001"]
    assert _rows(second) == ["10010002"]
    assert _rows(beyond) == ["10010002"]  # past the end: the last page
    assert "หน้า 1 / 2" in first
    assert f'href="?round={round3().pk}&page=2"' in unescape(first)
    assert f'href="?round={round3().pk}&q=%E0%B9%82%E0%B8%A3%E0%B8%87&page=2"' in unescape(searched)


@override_settings(DMC_AREA_PAGE_SIZE=1)
def test_acknowledging_returns_to_the_same_filter_and_page(world: World) -> None:
    _certified_a1(world)
    client = _area(world)
    with confirm_day(12):
        page = client.get("/area/round/?state=certified").content.decode()
        assert '<input type="hidden" name="state" value="certified">' in page
        response = client.post(
            "/area/round/",
            {
                "round": round3().pk,
                "school": "10010001",
                "action": "ack",
                "state": "certified",
                "q": "1001",
                "page": "2",
            },
        )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query == {
        "round": [str(round3().pk)],
        "state": ["certified"],
        "q": ["1001"],
        "page": ["2"],
    }
    sr = SchoolRound.objects.get(school=world.school_a1, round=round3())
    assert sr.acknowledged_by == world.users["area_a"]


def test_obec_pages_keep_the_area(world: World) -> None:
    client = _area(world, "obec")
    with confirm_day(11):
        html = client.get("/area/round/?area=4201&state=has_errors").content.decode()
    assert _rows(html) == ["42010001"]
    assert f'href="?round={round3().pk}&area=4201&state=certified"' in unescape(html)


def test_a_school_with_nothing_to_do_gets_no_form(world: World) -> None:
    client = _area(world)
    with confirm_day(11):
        html = client.get("/area/round/").content.decode()
    row = html[html.index('<tr data-school="10010002">') :]
    row = row[: row.index("</tr>")]
    assert "<form" not in row  # neither confirmed nor certified: no button, no form


def test_thai_digits_in_the_search_find_the_school(world: World) -> None:
    client = _area(world)
    with confirm_day(11):
        html = client.get("/area/round/", {"q": "๑๐๐๑๐๐๐๒"}).content.decode()
    assert _rows(html) == ["10010002"]


def test_a_refused_action_shows_the_page_it_was_sent_from(world: World) -> None:
    client = _area(world)
    with confirm_day(11):
        response = client.post(
            "/area/round/",
            {"round": round3().pk, "school": "10010002", "action": "ack", "q": "บ้านสอง"},
        )
    assert response.status_code == 409  # not certified: nothing to acknowledge
    html = response.content.decode()
    assert 'role="alert"' in html
    assert _rows(html) == ["10010002"]  # still the search the form was sent from
    assert (
        SchoolRound.objects.filter(school=world.school_a2, acknowledged_at__isnull=False).count()
        == 0
    )
