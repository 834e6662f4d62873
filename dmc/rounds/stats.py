"""Per-school statistics kept current as data changes (SPEC §11: confirm must not rescan).

Each active enrolment carries its checklist keys (``Enrolment.checks``) and whether it counts
(``Enrolment.counted``, D4). ``SchoolYearStats`` holds the sums for its school and year. A write
to a student calls ``enrolment_changed`` inside its transaction: the enrolment's old contribution
is subtracted and the new one added, under a lock on the stats row. ``rebuild`` recomputes a
school from scratch (bulk loads, a new round's reference date).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Count

from dmc.core import clock
from dmc.core.rulebook import CHECKS, Severity
from dmc.rounds import checks
from dmc.rounds.models import QueryNote, SchoolYearStats
from dmc.rounds.selectors import current_round
from dmc.schools.models import School
from dmc.students.models import Enrolment, Person
from dmc.students.rules import YEAR_END_ROUND

Contribution = tuple[str, str, bool, tuple[str, ...]]  # grade, sex, counted, check tokens
BLOCKED_STUDENTS = "_students_blocked"  # how many students have at least one blocking item


def as_of_for(year: int) -> dt.date:
    """The date ages are checked at: the as-of date of the year's current round (the end of
    the academic year when no round has started yet)."""
    r = current_round(year, clock.now())
    if r is not None and r.as_of_date is not None:
        return r.as_of_date
    return dt.date(year - 543 + 1, 3, 31)


def year_end_due(year: int) -> bool:
    """L8: year-end results are due while the year's current round is the end-of-year round."""
    r = current_round(year, clock.now())
    return r is not None and r.number == YEAR_END_ROUND


def _tokens(keys: list[str], explained: set[str]) -> tuple[str, ...]:
    """Query-severity keys with a note become ``key!`` (explained: not blocking)."""
    out = []
    for key in keys:
        explained_query = CHECKS[key].severity == Severity.QUERY and key in explained
        out.append(key + "!" if explained_query else key)
    return tuple(out)


def parse_tokens(text: str) -> tuple[str, ...]:
    return tuple(text.split())


def facts_for(
    enrolment: Enrolment,
    person: Person,
    previous_height: Decimal | None,
    *,
    year_end: bool = False,
) -> checks.StudentFacts:
    return checks.StudentFacts(
        sex=person.sex,
        title_code=person.title_code,
        birth_date=person.birth_date,
        weight_kg=enrolment.weight_kg,
        height_cm=enrolment.height_cm,
        tracked_318=enrolment.tracked_318,
        previous_height_cm=previous_height,
        year_end=year_end,
        grade=enrolment.grade,
        year_result=enrolment.year_result,
        failed_evaluations=enrolment.failed_evaluations,
        destination=enrolment.destination,
    )


def _previous_height(enrolment: Enrolment) -> Decimal | None:
    return (
        Enrolment.objects.filter(
            person_id=enrolment.person_id, academic_year=enrolment.academic_year - 1
        )
        .exclude(height_cm=None)
        .order_by("-id")
        .values_list("height_cm", flat=True)
        .first()
    )


def checks_text(
    facts: checks.StudentFacts, *, academic_year: int, as_of: dt.date, explained: set[str]
) -> tuple[str, bool]:
    """(checks text, counted) of one active student's facts: the one place the stored form
    (`` key key! `` or empty) is made, for ``evaluate`` and the bulk loader alike."""
    keys = checks.student_checks(facts, academic_year=academic_year, as_of=as_of)
    tokens = _tokens(keys, explained)
    return (" " + " ".join(tokens) + " ") if tokens else "", checks.counted(facts, academic_year)


def evaluate(
    enrolment: Enrolment,
    person: Person,
    *,
    as_of: dt.date,
    previous_height: Decimal | None,
    explained: set[str],
    year_end: bool = False,
) -> tuple[str, bool]:
    """(checks text, counted) for one enrolment, without saving."""
    if enrolment.status != Enrolment.Status.ACTIVE:
        return "", False
    facts = facts_for(enrolment, person, previous_height, year_end=year_end)
    return checks_text(
        facts, academic_year=enrolment.academic_year, as_of=as_of, explained=explained
    )


def contribution(enrolment: Enrolment, sex: str) -> Contribution | None:
    if enrolment.status != Enrolment.Status.ACTIVE:
        return None
    return (enrolment.grade, sex, enrolment.counted, parse_tokens(enrolment.checks))


def _apply(stats: SchoolYearStats, contrib: Contribution | None, sign: int) -> None:
    if contrib is None:
        return
    grade, sex, is_counted, tokens = contrib
    cell = stats.totals.setdefault(grade, {"M": 0, "F": 0, "cM": 0, "cF": 0})
    cell[sex] += sign
    if is_counted:
        cell["c" + sex] += sign
    if any(_blocks(token) for token in tokens):
        tokens = (*tokens, BLOCKED_STUDENTS)
    for token in tokens:
        stats.checks[token] = stats.checks.get(token, 0) + sign
        if stats.checks[token] == 0:
            del stats.checks[token]


def locked_stats(school_id: int, year: int) -> SchoolYearStats:
    """The stats row of a school and year, locked for update (rebuilt when missing or stale)."""
    return _locked_stats(school_id, year)[0]


def current_stats(school_id: int, year: int) -> SchoolYearStats:
    """The stats row for a page or an API read: read without a lock when it is current (a
    committed row is consistent; locking it would make every read a transaction with a WAL
    flush at commit and queue reads behind writes to the school), rebuilt under the lock only
    when missing or stale."""
    stats = SchoolYearStats.objects.filter(school_id=school_id, academic_year=year).first()
    if stats is not None and stats.as_of == as_of_for(year):
        return stats
    with transaction.atomic():
        return _locked_stats(school_id, year)[0]


def _locked_stats(school_id: int, year: int) -> tuple[SchoolYearStats, bool]:
    """(stats row locked for update, whether it was just rebuilt from the current data)."""
    as_of = as_of_for(year)
    stats = (
        SchoolYearStats.objects.select_for_update()
        .filter(school_id=school_id, academic_year=year)
        .first()
    )
    if stats is not None and stats.as_of == as_of:
        return stats, False
    rebuild(School.objects.get(pk=school_id), year)
    stats = SchoolYearStats.objects.select_for_update().get(school_id=school_id, academic_year=year)
    return stats, True


@transaction.atomic
def enrolment_changed(enrolment: Enrolment, person: Person, before: Contribution | None) -> None:
    """Re-evaluate one enrolment after a change and move the school's sums by the difference.

    ``before`` is the contribution the enrolment had before the change (None if new or
    inactive). Call inside the service's transaction, after saving the change.
    """
    stats, rebuilt = _locked_stats(enrolment.school_id, enrolment.academic_year)
    if rebuilt:
        # the rebuild already counted this enrolment as it is now
        enrolment.checks, enrolment.counted = Enrolment.objects.values_list(
            "checks", "counted"
        ).get(pk=enrolment.pk)
        return
    explained = set(
        QueryNote.objects.filter(enrolment=enrolment).values_list("check_key", flat=True)
    )
    text, is_counted = evaluate(
        enrolment,
        person,
        as_of=stats.as_of,
        previous_height=_previous_height(enrolment),
        explained=explained,
        year_end=year_end_due(enrolment.academic_year),
    )
    if (text, is_counted) != (enrolment.checks, enrolment.counted):
        Enrolment.objects.filter(pk=enrolment.pk).update(checks=text, counted=is_counted)
        enrolment.checks, enrolment.counted = text, is_counted
    _apply(stats, before, -1)
    _apply(stats, contribution(enrolment, person.sex), +1)
    stats.save(update_fields=["totals", "checks", "updated_at"])


@transaction.atomic
def enrolments_changed(
    school_id: int, year: int, changes: list[tuple[Enrolment, Person, Contribution | None]]
) -> None:
    """``enrolment_changed`` for many enrolments of one school at once (bulk writes such as the
    school import): each is evaluated again and the school's sums move by the differences,
    under one lock on the stats row, with one query for the notes and one for last year's
    heights -- instead of a full ``rebuild`` of the school."""
    if not changes:
        return
    first = (
        not SchoolYearStats.objects.filter(school_id=school_id, academic_year=year).exists()
        and all(before is None for _, _, before in changes)
        and Enrolment.objects.filter(school_id=school_id, academic_year=year).count()
        == len(changes)
    )
    if first:  # the school's first students of the year are all here: sums start at zero
        stats = SchoolYearStats.objects.create(
            school_id=school_id, academic_year=year, as_of=as_of_for(year), totals={}, checks={}
        )
    else:
        stats, rebuilt = _locked_stats(school_id, year)
        if rebuilt:
            return  # the rebuild already counted every enrolment as it is now
    ids = [e.pk for e, _, _ in changes]
    notes: dict[int, set[str]] = {}
    for enrolment_id, key in QueryNote.objects.filter(enrolment_id__in=ids).values_list(
        "enrolment_id", "check_key"
    ):
        notes.setdefault(enrolment_id, set()).add(key)
    previous = dict(
        Enrolment.objects.filter(
            person_id__in=[e.person_id for e, _, _ in changes], academic_year=year - 1
        )
        .exclude(height_cm=None)
        .order_by("id")  # the latest record wins, as in _previous_height
        .values_list("person_id", "height_cm")
    )
    changed = []
    year_end = year_end_due(year)
    for enrolment, person, before in changes:
        text, is_counted = evaluate(
            enrolment,
            person,
            as_of=stats.as_of,
            previous_height=previous.get(enrolment.person_id),
            explained=notes.get(enrolment.pk, set()),
            year_end=year_end,
        )
        if (text, is_counted) != (enrolment.checks, enrolment.counted):
            enrolment.checks, enrolment.counted = text, is_counted
            changed.append(enrolment)
        _apply(stats, before, -1)
        _apply(stats, contribution(enrolment, person.sex), +1)
    Enrolment.objects.bulk_update(changed, ["checks", "counted"], batch_size=500)
    stats.save(update_fields=["totals", "checks", "updated_at"])


def reevaluate(enrolments: list[Enrolment], year: int, *, as_of: dt.date, year_end: bool) -> None:
    """Recompute the checks and D4 flag of these enrolments of ``year`` (persons selected),
    with their query notes and last year's heights, and save the ones that changed."""
    ids = [e.pk for e in enrolments]
    notes: dict[int, set[str]] = {}
    for enrolment_id, key in QueryNote.objects.filter(enrolment_id__in=ids).values_list(
        "enrolment_id", "check_key"
    ):
        notes.setdefault(enrolment_id, set()).add(key)
    previous = dict(
        Enrolment.objects.filter(
            person_id__in=[e.person_id for e in enrolments], academic_year=year - 1
        )
        .exclude(height_cm=None)
        .order_by("id")  # the latest record wins, as in _previous_height
        .values_list("person_id", "height_cm")
    )
    changed = []
    for e in enrolments:
        text, is_counted = evaluate(
            e,
            e.person,
            as_of=as_of,
            previous_height=previous.get(e.person_id),
            explained=notes.get(e.pk, set()),
            year_end=year_end,
        )
        if (text, is_counted) != (e.checks, e.counted):
            e.checks, e.counted = text, is_counted
            changed.append(e)
    Enrolment.objects.bulk_update(changed, ["checks", "counted"], batch_size=500)


@transaction.atomic
def rebuild(school: School, year: int) -> SchoolYearStats:
    """Recompute every active enrolment's checks and the school's sums from scratch."""
    as_of = as_of_for(year)
    enrolments = list(
        Enrolment.objects.filter(school=school, academic_year=year).select_related("person")
    )
    reevaluate(enrolments, year, as_of=as_of, year_end=year_end_due(year))
    stats = SchoolYearStats(school=school, academic_year=year, as_of=as_of, totals={}, checks={})
    for e in enrolments:
        _apply(stats, contribution(e, e.person.sex), +1)
    SchoolYearStats.objects.update_or_create(
        school=school,
        academic_year=year,
        defaults={"as_of": as_of, "totals": stats.totals, "checks": stats.checks},
    )
    return SchoolYearStats.objects.get(school=school, academic_year=year)


IN_LIST_MAX = 10_000  # schools named in the stats GROUP BY; more: the whole year, filtered


def rebuild_from_stored(school_ids: list[int], year: int, as_of: dt.date) -> int:
    """Rebuild the stats rows of ``school_ids`` from the enrolments' stored ``checks`` and
    ``counted`` (no re-evaluation): one GROUP BY over the active enrolments, summed with
    ``_apply`` -- the same arithmetic as ``rebuild``. The caller guarantees the stored values
    are current for ``as_of`` (the bulk loader computes them as it stages). Returns the rows
    written."""
    from django.db import connection

    if not school_ids:
        return 0
    enrol, person = Enrolment._meta.db_table, Person._meta.db_table
    built: dict[int, SchoolYearStats] = {}
    wanted = set(school_ids)
    # a few schools: one query per 5,000; many: one query over the year, filtered here
    parts = (
        [school_ids[i : i + 5000] for i in range(0, len(school_ids), 5000)]
        if len(school_ids) <= IN_LIST_MAX
        else [[]]
    )
    with connection.cursor() as cur:
        for part in parts:
            within = f"AND e.school_id IN ({', '.join(['%s'] * len(part))})" if part else ""
            cur.execute(  # table names from the models; every value a bound parameter
                f"""SELECT e.school_id, e.grade, p.sex, e.counted, e.checks, COUNT(*)
                FROM {enrol} e JOIN {person} p ON p.id = e.person_id
                WHERE e.academic_year = %s AND e.status = %s {within}
                GROUP BY e.school_id, e.grade, p.sex, e.counted, e.checks""",  # noqa: S608  # nosec B608
                [year, Enrolment.Status.ACTIVE, *part],
            )
            while rows := cur.fetchmany(10_000):
                _apply_rows(built, wanted, rows, year, as_of)
    for school_id in school_ids:
        built.setdefault(
            school_id,
            SchoolYearStats(
                school_id=school_id, academic_year=year, as_of=as_of, totals={}, checks={}
            ),
        )
    with transaction.atomic():
        for i in range(0, len(school_ids), 5000):
            SchoolYearStats.objects.filter(
                school_id__in=school_ids[i : i + 5000], academic_year=year
            ).delete()
        SchoolYearStats.objects.bulk_create(list(built.values()), batch_size=2000)
    return len(built)


def _apply_rows(
    built: dict[int, SchoolYearStats],
    wanted: set[int],
    rows: list[Any],
    year: int,
    as_of: dt.date,
) -> None:
    for school_id, grade, sex, is_counted, text, n in rows:
        if school_id not in wanted:
            continue
        stats = built.get(school_id)
        if stats is None:
            stats = built[school_id] = SchoolYearStats(
                school_id=school_id, academic_year=year, as_of=as_of, totals={}, checks={}
            )
        _apply(stats, (grade, sex, bool(is_counted), parse_tokens(text)), int(n))


NOT_EVALUATED = dt.date(1900, 1, 1)  # the as_of of a row whose checks are not computed yet


def seed_totals(school_ids: list[int], year: int) -> None:
    """Head counts of the schools' active enrolments by one GROUP BY, for rows made in bulk
    (rollover), with ``counted`` already set on the enrolments. The per-student checks are not
    evaluated here: the row's ``as_of`` is ``NOT_EVALUATED``, so the first locked access (a
    write, the checklist, confirmation) rebuilds it in full, at the as-of date then in force."""
    totals: dict[int, dict[str, dict[str, int]]] = {sid: {} for sid in school_ids}
    for row in (
        Enrolment.objects.filter(
            school_id__in=school_ids, academic_year=year, status=Enrolment.Status.ACTIVE
        )
        .values("school_id", "grade", "person__sex", "counted")
        .annotate(n=Count("id"))
        .order_by()
    ):
        cell = totals[row["school_id"]].setdefault(row["grade"], {"M": 0, "F": 0, "cM": 0, "cF": 0})
        sex = row["person__sex"]
        cell[sex] += row["n"]
        if row["counted"]:
            cell["c" + sex] += row["n"]
    now = clock.now()
    SchoolYearStats.objects.bulk_create(
        [
            SchoolYearStats(
                school_id=sid,
                academic_year=year,
                as_of=NOT_EVALUATED,
                totals=t,
                checks={},
                updated_at=now,
            )
            for sid, t in totals.items()
        ],
        update_conflicts=True,
        unique_fields=["school", "academic_year"],
        update_fields=["as_of", "totals", "checks", "updated_at"],
    )


def _blocks(token: str) -> bool:
    """Errors block; queries block until explained (``key!``)."""
    check = CHECKS.get(token.rstrip("!"))
    if check is None:
        return False
    return check.severity == Severity.ERROR or (
        check.severity == Severity.QUERY and not token.endswith("!")
    )


def blocking_count(check_counts: dict[str, int]) -> int:
    """Items that block confirmation: errors, and queries not yet explained."""
    return sum(n for token, n in check_counts.items() if _blocks(token))


def students_by_grade(totals: dict[str, Any]) -> dict[str, int]:
    return {g: c["M"] + c["F"] for g, c in totals.items() if c["M"] + c["F"] > 0}
