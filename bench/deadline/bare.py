"""B3 baseline: a bare WSGI app (no Django) answering the same requests as Open DMC with the same
SQL, so the ratio Django ÷ bare measures what the framework and our code layers cost.

Same URLs, same authentication lookups (API token hash; the database session row), the same
statements in the same order as the Django app issues them for these requests (captured with
``CaptureQueriesContext``: token → school → round → BEGIN … row locks … snapshot … audit …
COMMIT → the progress read), one persistent psycopg 3 connection per server thread (as Django
with CONN_MAX_AGE). What it leaves out: templates (pages are a plain HTML table of the same
data), Django's session signature check (the session blob is decoded, not verified), the rule
layer's Python checks beyond the ones that decide the response, and the middleware chain.

Run: gunicorn bench.deadline.bare:app (DATABASE_URL as for the app).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from html import escape
from typing import Any

import argon2
import psycopg
from psycopg.types.json import Jsonb

DSN = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/dmc")
BANGKOK = dt.timezone(dt.timedelta(hours=7))
_local = threading.local()
_clock: list[Any] = [0.0, None]

Start = Callable[[str, list[tuple[str, str]]], Any]


def conn() -> psycopg.Connection[Any]:
    c: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if c is None or c.closed:
        c = psycopg.connect(DSN, autocommit=True)
        _local.conn = c
    return c


def now(cur: psycopg.Cursor[Any]) -> dt.datetime:
    """The demo clock as the app reads it (the ClockSetting row, cached for one second)."""
    mono = time.monotonic()
    if _clock[1] is None or mono - _clock[0] > 1.0:
        cur.execute("SELECT offset_seconds, frozen_at FROM core_clocksetting WHERE id = 1")
        row = cur.fetchone()
        _clock[0], _clock[1] = mono, row or (0, None)
    offset, frozen = _clock[1]
    if frozen is not None:
        return frozen
    return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset or 0)


def respond(start: Start, status: str, body: Any, html: bool = False) -> Iterable[bytes]:
    raw = body.encode() if html else json.dumps(body, ensure_ascii=False, default=str).encode()
    ctype = "text/html; charset=utf-8" if html else "application/json; charset=utf-8"
    start(status, [("Content-Type", ctype), ("Content-Length", str(len(raw)))])
    return [raw]


def token_actor(cur: psycopg.Cursor[Any], environ: dict[str, Any]) -> tuple[Any, ...] | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    if not auth.startswith("Bearer "):
        return None
    digest = hashlib.sha256(auth[7:].encode()).hexdigest()
    cur.execute(
        "SELECT a.id, a.user_id, a.role, a.school_id, coalesce(s.area_id, a.area_id)"
        " FROM accounts_apitoken t JOIN accounts_roleassignment a ON a.id = t.assignment_id"
        " JOIN accounts_user u ON u.id = a.user_id LEFT JOIN schools_school s ON s.id = a.school_id"
        " WHERE t.key_hash = %s AND t.revoked_at IS NULL AND a.status = 'approved'"
        " AND u.is_active LIMIT 1",
        (digest,),
    )
    return cur.fetchone()


def session_actor(cur: psycopg.Cursor[Any], environ: dict[str, Any]) -> tuple[Any, ...] | None:
    cookie = environ.get("HTTP_COOKIE", "")
    m = re.search(r"sessionid=([a-z0-9]+)", cookie)
    if not m:
        return None
    cur.execute(
        "SELECT session_data FROM django_session WHERE expire_date > now() AND session_key = %s",
        (m.group(1),),
    )
    row = cur.fetchone()
    if row is None:
        return None
    data = _decode_session(row[0])
    cur.execute(
        "SELECT id, is_active FROM accounts_user WHERE id = %s", (int(data["_auth_user_id"]),)
    )
    cur.fetchone()
    cur.execute(
        "SELECT a.id, a.user_id, a.role, a.school_id, coalesce(s.area_id, a.area_id)"
        " FROM accounts_roleassignment a LEFT JOIN schools_school s ON s.id = a.school_id"
        " LEFT JOIN schools_areaoffice ar ON ar.id = a.area_id"
        " WHERE a.id = %s AND a.user_id = %s AND a.status = 'approved' LIMIT 1",
        (data["dmc_assignment_id"], int(data["_auth_user_id"])),
    )
    return cur.fetchone()


def _decode_session(blob: str) -> dict[str, Any]:
    payload = blob.split(":")[0]
    compressed = payload.startswith(".")
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def school_by_code(cur: psycopg.Cursor[Any], code: str) -> tuple[Any, ...] | None:
    cur.execute(
        "SELECT id, smis_code, name, area_id FROM schools_school WHERE smis_code = %s", (code,)
    )
    return cur.fetchone()


def round_row(cur: psycopg.Cursor[Any], round_id: int, lock: bool = False) -> tuple[Any, ...]:
    cur.execute(
        "SELECT r.id, y.year, r.as_of_date, r.confirm_opens_at, r.confirm_closes_at, r.closed_at"
        " FROM rounds_round r JOIN rounds_academicyear y ON y.id = r.academic_year_id"
        " WHERE r.id = %s",
        (round_id,),
    )
    row = cur.fetchone()
    assert row is not None
    return row


def current_round(cur: psycopg.Cursor[Any]) -> tuple[Any, ...]:
    """As selectors.current_year + current_round: the years, the rounds started, the live one."""
    t = now(cur)
    cur.execute("SELECT year FROM rounds_academicyear ORDER BY 1")
    cur.fetchall()
    cur.execute(
        "SELECT y.year FROM rounds_round r JOIN rounds_academicyear y ON y.id = r.academic_year_id"
        " WHERE r.entry_opens_at <= %s",
        (t,),
    )
    year = max(r[0] for r in cur.fetchall())
    cur.execute(
        "SELECT r.id FROM rounds_round r JOIN rounds_academicyear y ON y.id = r.academic_year_id"
        " WHERE y.year = %s AND r.entry_opens_at <= %s"
        " AND (r.closed_at IS NULL OR r.closed_at > %s) ORDER BY r.number",
        (year, t, t),
    )
    rid = cur.fetchone()[0]
    return round_row(cur, rid)


def stats_row(cur: psycopg.Cursor[Any], school_id: int, year: int, lock: bool) -> Any:
    sql = (
        "SELECT id, as_of, totals, checks FROM rounds_schoolyearstats"
        " WHERE school_id = %s AND academic_year = %s"
    )
    cur.execute(sql + (" FOR UPDATE" if lock else ""), (school_id, year))
    return cur.fetchone()


def grades(cur: psycopg.Cursor[Any], school_id: int, year: int) -> dict[str, int]:
    cur.execute(
        "SELECT grade, rooms FROM schools_schoolgrade WHERE academic_year = %s AND school_id = %s",
        (year, school_id),
    )
    return dict(cur.fetchall())


def progress(
    cur: psycopg.Cursor[Any], school: tuple[Any, ...], r: tuple[Any, ...]
) -> dict[str, Any]:
    with conn().transaction():
        cur.execute(
            "SELECT r.id FROM rounds_round r"
            " JOIN rounds_academicyear y ON y.id = r.academic_year_id"
            " WHERE y.year = %s ORDER BY r.number",
            (r[1],),
        )
        cur.fetchall()
        st = stats_row(cur, school[0], r[1], lock=True)
    rooms = grades(cur, school[0], r[1])
    cur.execute(
        "SELECT confirmed_at, certified_at, acknowledged_at FROM rounds_schoolround"
        " WHERE school_id = %s AND round_id = %s LIMIT 1",
        (school[0], r[0]),
    )
    sr = cur.fetchone() or (None, None, None)
    totals = st[2] if st else {}
    students = sum(c["M"] + c["F"] for c in totals.values())
    return {
        "school_code": school[1],
        "round_id": r[0],
        "state": "certified" if sr[1] else ("confirmed" if sr[0] else "ready"),
        "students": students,
        "counted": sum(c["cM"] + c["cF"] for c in totals.values()),
        "blocking": 0,
        "readiness": 100 if students else 0,
        "confirmed_at": sr[0],
        "certified_at": sr[1],
        "acknowledged_at": sr[2],
        "rooms": rooms,
        "items": st[3] if st else {},
    }


def error(start: Start, status: str, code: str) -> Iterable[bytes]:
    return respond(start, status, {"code": code, "message": code, "fields": {}})


def step_up(cur: psycopg.Cursor[Any], user_id: int, password: str) -> bool:
    """The director's password checked as Django does it (Argon2id with the stored parameters,
    or PBKDF2-SHA256 for an older hash): the same CPU as Open DMC's step-up, without Django."""
    cur.execute("SELECT password FROM accounts_user WHERE id = %s", (user_id,))
    row = cur.fetchone()
    if row is None or not password:
        return False
    algorithm, rest = [*row[0].split("$", 1), ""][:2]
    if algorithm == "argon2":
        try:
            return argon2.low_level.verify_secret(
                ("$" + rest).encode(), password.encode(), argon2.low_level.Type.ID
            )
        except argon2.exceptions.VerificationError:
            return False
    if algorithm != "pbkdf2_sha256":
        return False
    iterations, salt, expected = [*rest.split("$", 2), "", ""][:3]
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), int(iterations))
    return hmac.compare_digest(base64.b64encode(digest).decode().strip(), expected)


def confirm_or_certify(
    start: Start,
    actor: tuple[Any, ...],
    round_id: int,
    code: str,
    action: str,
    password: str = "",
) -> Iterable[bytes]:
    c = conn()
    with c.cursor() as cur:
        school = school_by_code(cur, code)
        if school is None or school[0] != actor[3]:
            return error(start, "404 Not Found", "not_found")
        if action == "certify" and not step_up(cur, actor[1], password):
            return error(start, "403 Forbidden", "step_up_failed")
        r = round_row(cur, round_id)
        try:
            with c.transaction():
                t = now(cur)
                round_row(cur, round_id)
                cur.execute(
                    "INSERT INTO rounds_schoolround (school_id, round_id, locked_reason, version)"
                    " VALUES (%s, %s, '', 1) ON CONFLICT DO NOTHING",
                    (school[0], round_id),
                )
                cur.execute(
                    "SELECT id, confirmed_at, confirmed_by_id, certified_at, version"
                    " FROM rounds_schoolround WHERE school_id = %s AND round_id = %s FOR UPDATE",
                    (school[0], round_id),
                )
                sr_id, confirmed_at, confirmed_by, certified_at, version = cur.fetchone()
                if not (r[3] <= t < r[4]):
                    raise RefusedError("409 Conflict", "confirm_window_closed")
                if action == "confirm":
                    if confirmed_at is not None:
                        raise RefusedError("409 Conflict", "already_confirmed")
                    round_row(cur, round_id)
                    st = stats_row(cur, school[0], r[1], lock=True)
                    rooms = grades(cur, school[0], r[1])
                    if st is None:
                        raise RefusedError("409 Conflict", "checklist_blocking")
                    cur.execute(
                        "SELECT e.id, e.person_id, e.grade, e.room, p.sex, p.birth_date,"
                        " e.tracked_318, e.counted FROM students_enrolment e"
                        " JOIN students_person p ON p.id = e.person_id WHERE e.academic_year = %s"
                        " AND e.school_id = %s AND e.status = 'active' ORDER BY e.id",
                        (r[1], school[0]),
                    )
                    rows = cur.fetchall()
                    rooms = grades(cur, school[0], r[1])
                    totals: dict[str, dict[str, int]] = {}
                    digest = hashlib.sha256(f"dmc-snapshot-v1|confirm|{r[1]}/3|{code}".encode())
                    for e in rows:
                        cell = totals.setdefault(
                            e[2],
                            {
                                "M": 0,
                                "F": 0,
                                "cM": 0,
                                "cF": 0,
                                "tracked": 0,
                                "rooms": rooms.get(e[2], 0),
                            },
                        )
                        cell[e[4]] += 1
                        digest.update(
                            f"\n{e[0]}|{e[1]}|{school[0]}|{e[2]}|{e[3]}|{e[4]}|{e[5]}|{int(e[6])}|{int(e[7])}".encode()
                        )
                    cur.execute(
                        "INSERT INTO rounds_snapshot (round_id, school_id, kind, taken_at,"
                        " taken_by_id, rows, counted_rows, totals, sha256) VALUES"
                        " (%s, %s, 'confirm', %s, %s, %s, %s, %s, %s) RETURNING id",
                        (
                            round_id,
                            school[0],
                            t,
                            actor[1],
                            len(rows),
                            len(rows),
                            Jsonb(totals),
                            digest.hexdigest(),
                        ),
                    )
                    snap = cur.fetchone()[0]
                    cur.executemany(
                        "INSERT INTO rounds_snapshotrow (snapshot_id, enrolment_id, person_id,"
                        " school_id, grade, room, sex, birth_date, tracked_318, counted)"
                        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                        [
                            (snap, e[0], e[1], school[0], e[2], e[3], e[4], e[5], e[6], e[7])
                            for e in rows
                        ],
                    )
                    cur.execute(
                        "UPDATE rounds_schoolround SET confirmed_at = %s, confirmed_by_id = %s,"
                        " snapshot_id = %s, version = %s WHERE id = %s",
                        (t, actor[1], snap, version + 1, sr_id),
                    )
                    after = {
                        "confirmed_at": t.isoformat(),
                        "confirmed_by": actor[1],
                        "snapshot": snap,
                    }
                else:
                    if confirmed_at is None:
                        raise RefusedError("409 Conflict", "not_confirmed")
                    if certified_at is not None:
                        raise RefusedError("409 Conflict", "already_certified")
                    if confirmed_by == actor[1]:
                        raise RefusedError("409 Conflict", "certifier_same_person")
                    cur.execute("SELECT id FROM rounds_schoolround WHERE id = %s", (sr_id,))
                    cur.execute(
                        "UPDATE rounds_schoolround SET certified_at = %s, certified_by_id = %s,"
                        " version = %s WHERE id = %s",
                        (t, actor[1], version + 1, sr_id),
                    )
                    after = {"certified_at": t.isoformat(), "certified_by": actor[1]}
                cur.execute("SELECT area_id FROM schools_school WHERE id = %s", (school[0],))
                cur.execute(
                    "INSERT INTO core_auditevent (at, actor_id, actor_role, action, target_type,"
                    " target_id, school_id, area_id, before, after, reason) VALUES"
                    " (%s, %s, %s, %s, 'rounds.schoolround', %s, %s, %s, %s, %s, '')",
                    (
                        t,
                        actor[1],
                        actor[2],
                        f"round.{action}",
                        str(sr_id),
                        school[0],
                        school[3],
                        Jsonb({}),
                        Jsonb(after),
                    ),
                )
        except RefusedError as exc:
            return error(start, exc.status, exc.code)
        return respond(start, "200 OK", progress(cur, school, r))


class RefusedError(Exception):
    def __init__(self, status: str, code: str) -> None:
        self.status, self.code = status, code


def students_rows(cur: psycopg.Cursor[Any], school_id: int, year: int) -> list[tuple[Any, ...]]:
    cur.execute(
        "SELECT count(*) FROM students_enrolment WHERE school_id = %s AND academic_year = %s"
        " AND status = 'active'",
        (school_id, year),
    )
    cur.fetchone()
    cur.execute(
        "SELECT e.id, e.student_no, e.grade, e.room, p.person_id, p.first_name, p.last_name, p.sex"
        " FROM students_enrolment e JOIN students_person p ON p.id = e.person_id"
        " WHERE e.school_id = %s AND e.academic_year = %s AND e.status = 'active'"
        " ORDER BY e.grade, e.room, p.name_key, e.id LIMIT 50",
        (school_id, year),
    )
    return cur.fetchall()


def mask(pid: str) -> str:
    return pid[:1] + "-xxxx-xxxxx-" + pid[-3:-1] + "-" + pid[-1:]


def table(rows: Iterable[Iterable[Any]]) -> str:
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in r) + "</tr>" for r in rows
    )
    return f"<!doctype html><html lang='th'><meta charset='utf-8'><table>{body}</table></html>"


ROUTE_API = re.compile(r"^/api/v1/rounds/(\d+)/schools/(\d+)(/confirm|/certify)?$")
ROUTE_API_STUDENTS = re.compile(r"^/api/v1/schools/(\d+)/students$")
ROUTE_WEB_STUDENTS = re.compile(r"^/schools/(\d+)/students/$")


def app(environ: dict[str, Any], start: Start) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    method = environ["REQUEST_METHOD"]
    c = conn()
    with c.cursor() as cur:
        if path.startswith("/api/"):
            actor = token_actor(cur, environ)
            if actor is None:
                return error(start, "401 Unauthorized", "not_authenticated")
            if m := ROUTE_API.match(path):
                rid, code, action = int(m.group(1)), m.group(2), m.group(3)
                if action and method == "POST":
                    password = ""
                    if action == "/certify":
                        size = int(environ.get("CONTENT_LENGTH") or 0)
                        body = environ["wsgi.input"].read(size) if 0 < size < 4096 else b""
                        try:
                            password = str(json.loads(body or b"{}").get("password") or "")
                        except ValueError:
                            password = ""
                    return confirm_or_certify(start, actor, rid, code, action[1:], password)
                school = school_by_code(cur, code)
                if school is None or school[0] != actor[3]:
                    return error(start, "404 Not Found", "not_found")
                return respond(start, "200 OK", progress(cur, school, round_row(cur, rid)))
            if m := ROUTE_API_STUDENTS.match(path):
                school = school_by_code(cur, m.group(1))
                if school is None or school[0] != actor[3]:
                    return error(start, "404 Not Found", "not_found")
                r = current_round(cur)
                rows = students_rows(cur, school[0], r[1])
                items = [
                    {
                        "enrolment_id": e[0],
                        "student_no": e[1],
                        "grade": e[2],
                        "room": e[3],
                        "person_id": mask(e[4]),
                        "first_name": e[5],
                        "last_name": e[6],
                        "sex": e[7],
                    }
                    for e in rows
                ]
                return respond(start, "200 OK", {"count": len(items), "items": items})
            return error(start, "404 Not Found", "not_found")
        actor = session_actor(cur, environ)
        if actor is None:
            start("302 Found", [("Location", "/login/")])
            return [b""]
        if path == "/round/":
            cur.execute(
                "SELECT id, smis_code, name, area_id FROM schools_school WHERE id = %s", (actor[3],)
            )
            school = cur.fetchone()
            r = current_round(cur)
            p = progress(cur, school, r)
            cur.execute(
                "SELECT count(*) FROM cases_case WHERE kind = 'duplicate' AND status IN"
                " ('submitted', 'under_review') AND (school_id = %s OR other_school_id = %s)",
                (school[0], school[0]),
            )
            cur.fetchone()
            cur.execute(
                "SELECT id, status FROM rounds_reopenrequest WHERE school_id = %s AND round_id = %s"
                " ORDER BY id DESC LIMIT 5",
                (school[0], r[0]),
            )
            cur.fetchall()
            return respond(start, "200 OK", table(p.items()), html=True)
        if m := ROUTE_WEB_STUDENTS.match(path):
            school = school_by_code(cur, m.group(1))
            if school is None or school[0] != actor[3]:
                return error(start, "404 Not Found", "not_found")
            r = current_round(cur)
            cur.execute(
                "SELECT count(*) FROM cases_case WHERE kind = 'duplicate' AND status IN"
                " ('submitted', 'under_review') AND (school_id = %s OR other_school_id = %s)",
                (school[0], school[0]),
            )
            cur.fetchone()
            rows = students_rows(cur, school[0], r[1])
            return respond(
                start,
                "200 OK",
                table((e[1], e[2], e[3], mask(e[4]), e[5], e[6]) for e in rows),
                html=True,
            )
        if path == "/area/round/":
            cur.execute("SELECT id, code, name FROM schools_areaoffice WHERE id = %s", (actor[4],))
            cur.fetchone()
            r = current_round(cur)
            cur.execute(
                "SELECT id, smis_code, name FROM schools_school WHERE area_id = %s"
                " ORDER BY smis_code",
                (actor[4],),
            )
            schools = cur.fetchall()
            ids = [s[0] for s in schools]
            cur.execute(
                "SELECT school_id, totals, checks FROM rounds_schoolyearstats"
                " WHERE school_id = ANY(%s) AND academic_year = %s",
                (ids, r[1]),
            )
            stats = {s[0]: s for s in cur.fetchall()}
            cur.execute(
                "SELECT school_id, grade, rooms FROM schools_schoolgrade"
                " WHERE school_id = ANY(%s) AND academic_year = %s",
                (ids, r[1]),
            )
            cur.fetchall()
            cur.execute(
                "SELECT school_id, confirmed_at, certified_at FROM rounds_schoolround"
                " WHERE round_id = %s AND school_id = ANY(%s)",
                (r[0], ids),
            )
            srs = {s[0]: s for s in cur.fetchall()}
            cur.execute(
                "SELECT count(*) FROM cases_case c JOIN schools_school s ON s.id = c.school_id"
                " WHERE c.kind = 'id_correction' AND s.area_id = %s",
                (actor[4],),
            )
            cur.fetchone()
            cur.execute(
                "SELECT rr.id FROM rounds_reopenrequest rr"
                " JOIN schools_school s ON s.id = rr.school_id"
                " WHERE s.area_id = %s AND rr.round_id = %s AND rr.status = 'pending'",
                (actor[4], r[0]),
            )
            cur.fetchall()
            rows = []
            for s in schools:
                st = stats.get(s[0])
                n = sum(c["M"] + c["F"] for c in st[1].values()) if st else 0
                sr = srs.get(s[0])
                state = "certified" if sr and sr[2] else ("confirmed" if sr and sr[1] else "ready")
                rows.append((s[1], s[2], n, state))
            # every school's state is worked out (the page counts them all) and the first page
            # of 50 is shown, as Open DMC's dashboard does (DMC_AREA_PAGE_SIZE)
            return respond(start, "200 OK", table(rows[:50]), html=True)
    return error(start, "404 Not Found", "not_found")
