"""The per-area roll-up of totals, kept consistent with every change (see ``models``).

Every write path that changes what a school counts already saves one of three rows inside its
transaction, under a lock on that school:

* ``SchoolYearStats`` (every student change, and ``stats.rebuild`` after imports and loads):
  the live head counts;
* ``SchoolGrade`` (rooms per grade): the live rooms;
* ``SchoolRound`` (confirm seals a snapshot, cancel/revoke drops it): the sealed counts.

Signal handlers on those saves compute the school's new contribution, compare it with its
``SchoolShare`` and append the difference as ``CellDelta`` rows, in the same transaction (so a
rolled-back change leaves no delta). Bulk writes that bypass signals (``bulk_create`` of rooms in
the loaders) are caught up by ``resync_school``/``rebuild`` (``manage.py reports_rollup``), and
``verify`` reports any difference between the roll-up and the sources.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_init, post_save

from dmc.reports.models import LIVE, AreaCell, CellDelta, RollupLock, SchoolShare

Cells = dict[str, list[int]]  # grade -> [m, f, counted m, counted f, rooms]
WIDTH = 5
COMPACT_EVERY = 512  # fold the deltas into AreaCell after about this many


def _clean(cells: Cells) -> Cells:
    return {g: list(v) for g, v in sorted(cells.items()) if any(v)}


def cells_from_totals(totals: dict[str, Any], rooms: dict[str, int]) -> Cells:
    """Stats or snapshot totals ({grade: {M, F, cM, cF[, rooms]}}) plus rooms -> cells."""
    out: Cells = {}
    for grade, c in totals.items():
        out[grade] = [
            int(c.get("M", 0)),
            int(c.get("F", 0)),
            int(c.get("cM", 0)),
            int(c.get("cF", 0)),
            0,
        ]
    for grade, n in rooms.items():
        out.setdefault(grade, [0, 0, 0, 0, 0])[4] = int(n)
    return _clean(out)


def _diff(old: Cells, new: Cells) -> Cells:
    out: Cells = {}
    for grade in set(old) | set(new):
        a, b = old.get(grade, [0] * WIDTH), new.get(grade, [0] * WIDTH)
        d = [y - x for x, y in zip(a, b, strict=True)]
        if any(d):
            out[grade] = d
    return out


def _deltas(year: int, round_key: int, area: int, cells: Cells, sign: int) -> list[CellDelta]:
    return [
        CellDelta(
            academic_year=year,
            round_key=round_key,
            area_ref=area,
            grade=grade,
            m=sign * v[0],
            f=sign * v[1],
            cm=sign * v[2],
            cf=sign * v[3],
            rooms=sign * v[4],
        )
        for grade, v in sorted(cells.items())
    ]


def _locked_share(school_id: int, year: int, round_key: int) -> SchoolShare | None:
    return (
        SchoolShare.objects.select_for_update()
        .filter(school_id=school_id, academic_year=year, round_key=round_key)
        .first()
    )


_READ = object()  # set_share reads (and locks) the share itself


def set_share(
    *,
    school_id: int,
    area_id: int,
    year: int,
    round_key: int,
    cells: Cells,
    share: SchoolShare | object | None = _READ,
) -> SchoolShare:
    """Make ``cells`` the school's contribution and append the difference. Call inside the
    transaction that made the change (the caller holds the school's lock); ``share`` is the
    school's share row when the caller has already read it for update."""
    cells = _clean(cells)
    if share is _READ:
        share = _locked_share(school_id, year, round_key)
    assert share is None or isinstance(share, SchoolShare)
    deltas: list[CellDelta] = []
    if share is None:
        deltas = _deltas(year, round_key, area_id, cells, +1)
        share = SchoolShare.objects.create(
            school_id=school_id,
            academic_year=year,
            round_key=round_key,
            area_ref=area_id,
            cells=cells,
        )
    elif share.area_ref != area_id:  # the school moved to another area office
        deltas = _deltas(year, round_key, share.area_ref, share.cells, -1)
        deltas += _deltas(year, round_key, area_id, cells, +1)
        share.area_ref, share.cells = area_id, cells
        share.save(update_fields=["area_ref", "cells"])
    else:
        change = _diff(share.cells, cells)
        if change:
            deltas = _deltas(year, round_key, area_id, change, +1)
            share.cells = cells
            share.save(update_fields=["cells"])
    if deltas:
        made = CellDelta.objects.bulk_create(deltas)
        last = made[-1].pk
        if last is not None and any(d.pk and d.pk % COMPACT_EVERY == 0 for d in made):
            transaction.on_commit(lambda: compact(year, round_key), robust=True)
    return share


# --- the three sources ----------------------------------------------------------------------------


def _rooms(school_id: int, year: int) -> dict[str, int]:
    from dmc.schools.models import SchoolGrade

    return dict(
        SchoolGrade.objects.filter(school_id=school_id, academic_year=year).values_list(
            "grade", "rooms"
        )
    )


def _area_of(school_id: int) -> int:
    from dmc.schools.models import School

    return int(School.objects.filter(pk=school_id).values_list("area_id", flat=True).get())


def _live_cells(school_id: int, year: int) -> Cells:
    from dmc.rounds.models import SchoolYearStats

    s = SchoolYearStats.objects.filter(school_id=school_id, academic_year=year).first()
    return cells_from_totals(s.totals if s else {}, _rooms(school_id, year))


def _on_stats_saved(sender: Any, instance: Any, update_fields: Any = None, **kw: Any) -> None:
    year, school_id = instance.academic_year, instance.school_id
    share = _locked_share(school_id, year, LIVE)
    # ``stats.rebuild`` saves through update_or_create (which names ``as_of``): re-read the
    # rooms and the area then, as for a new row; a student change saves only the sums
    full = update_fields is None or "as_of" in update_fields
    if share is None or full:
        rooms = _rooms(school_id, year)
        area = _area_of(school_id)
    else:
        rooms = {g: v[4] for g, v in share.cells.items() if v[4]}
        area = share.area_ref
    set_share(
        school_id=school_id,
        area_id=area,
        year=year,
        round_key=LIVE,
        cells=cells_from_totals(instance.totals or {}, rooms),
        share=share,
    )


def _on_grade_changed(sender: Any, instance: Any, **kw: Any) -> None:
    resync_school(instance.school_id, instance.academic_year)


def resync_school(school_id: int, year: int) -> None:
    """Recompute one school's live contribution from its stats row and rooms."""
    with transaction.atomic():
        set_share(
            school_id=school_id,
            area_id=_area_of(school_id),
            year=year,
            round_key=LIVE,
            cells=_live_cells(school_id, year),
        )


def resync_schools(school_ids: list[int], year: int) -> None:
    """``resync_school`` for a batch written in bulk (the rollover's ``stats.seed_totals``), in
    a few queries: call inside the transaction that wrote them."""
    from dmc.rounds.models import SchoolYearStats
    from dmc.schools.models import School, SchoolGrade

    if not school_ids:
        return
    rooms: dict[int, dict[str, int]] = {}
    for sid, grade, n in SchoolGrade.objects.filter(
        school_id__in=school_ids, academic_year=year
    ).values_list("school_id", "grade", "rooms"):
        rooms.setdefault(sid, {})[grade] = n
    totals = dict(
        SchoolYearStats.objects.filter(school_id__in=school_ids, academic_year=year).values_list(
            "school_id", "totals"
        )
    )
    areas = dict(School.objects.filter(pk__in=school_ids).values_list("pk", "area_id"))
    with transaction.atomic():
        shares = {
            s.school_id: s
            for s in SchoolShare.objects.select_for_update().filter(
                school_id__in=school_ids, academic_year=year, round_key=LIVE
            )
        }
        for sid in sorted(school_ids):
            set_share(
                school_id=sid,
                area_id=areas[sid],
                year=year,
                round_key=LIVE,
                cells=cells_from_totals(totals.get(sid) or {}, rooms.get(sid, {})),
                share=shares.get(sid),
            )


def _sealed_cells(sr: Any) -> Cells:
    from dmc.rounds.models import Snapshot

    if sr.confirmed_at is None or sr.snapshot_id is None:
        return {}
    totals = Snapshot.objects.filter(pk=sr.snapshot_id).values_list("totals", flat=True).first()
    totals = totals or {}
    rooms = {g: int(c.get("rooms", 0)) for g, c in totals.items()}
    return cells_from_totals(totals, rooms)


def _on_round_init(sender: Any, instance: Any, **kw: Any) -> None:
    instance._reports_sealed = (instance.snapshot_id, instance.confirmed_at is not None)


def _on_round_saved(sender: Any, instance: Any, created: bool = False, **kw: Any) -> None:
    now = (instance.snapshot_id, instance.confirmed_at is not None)
    if not created and getattr(instance, "_reports_sealed", None) == now:
        return  # certify / acknowledge / lock: the sealed counts did not change
    instance._reports_sealed = now
    from dmc.rounds.models import Round

    year = Round.objects.filter(pk=instance.round_id).values_list("academic_year__year", flat=True)[
        0
    ]
    set_share(
        school_id=instance.school_id,
        area_id=_area_of(instance.school_id),
        year=year,
        round_key=instance.round_id,
        cells=_sealed_cells(instance),
    )


def connect() -> None:
    from dmc.rounds.models import SchoolRound, SchoolYearStats
    from dmc.schools.models import SchoolGrade

    post_save.connect(_on_stats_saved, sender=SchoolYearStats, dispatch_uid="reports_stats")
    post_save.connect(_on_grade_changed, sender=SchoolGrade, dispatch_uid="reports_grade_save")
    post_delete.connect(_on_grade_changed, sender=SchoolGrade, dispatch_uid="reports_grade_del")
    post_init.connect(_on_round_init, sender=SchoolRound, dispatch_uid="reports_round_init")
    post_save.connect(_on_round_saved, sender=SchoolRound, dispatch_uid="reports_round_save")


# --- reading, compacting, rebuilding --------------------------------------------------------------


def area_cells(
    year: int, round_key: int, area_ids: Iterable[int] | None = None
) -> dict[tuple[int, str], list[int]]:
    """(area id, grade) -> [m, f, cm, cf, rooms]: the compacted sums plus the pending deltas,
    in one statement (one consistent view)."""
    where = "academic_year = %s AND round_key = %s"
    params: list[Any] = [year, round_key]
    if area_ids is not None:
        ids = [int(a) for a in area_ids]
        if not ids:
            return {}
        where += f" AND area_ref IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    cols = "area_ref, grade, m, f, cm, cf, rooms"
    # table names are our own models'; values are parameters
    sql = (
        "SELECT area_ref, grade, SUM(m), SUM(f), SUM(cm), SUM(cf), SUM(rooms) FROM ("  # noqa: S608  # nosec B608 # table names from _meta; values bound
        f"SELECT {cols} FROM {AreaCell._meta.db_table} WHERE {where} UNION ALL "
        f"SELECT {cols} FROM {CellDelta._meta.db_table} WHERE {where}"
        ") t GROUP BY area_ref, grade"
    )
    with connection.cursor() as cur:
        cur.execute(sql, params + params)
        rows = cur.fetchall()
    # SUM over integer columns comes back as int on both databases (no Decimal to convert)
    return {
        (a, g): [m, f, cm, cf, rooms]
        for a, g, m, f, cm, cf, rooms in rows
        if m or f or cm or cf or rooms
    }


def compact(year: int, round_key: int, limit: int = 20_000) -> int:
    """Fold pending deltas of one source into ``AreaCell``; returns how many were folded.
    Compactions of one source take turns on its ``RollupLock`` row; the deltas folded are
    exactly the ones read (deleted by id), so a delta committed meanwhile waits for the next."""
    with transaction.atomic():
        RollupLock.objects.get_or_create(academic_year=year, round_key=round_key)
        RollupLock.objects.select_for_update().get(academic_year=year, round_key=round_key)
        rows = list(
            CellDelta.objects.filter(academic_year=year, round_key=round_key)
            .order_by("id")
            .values_list("id", "area_ref", "grade", "m", "f", "cm", "cf", "rooms")[:limit]
        )
        if not rows:
            return 0
        sums: dict[tuple[int, str], list[int]] = {}
        for _id, area_ref, code, *vals in rows:
            acc = sums.setdefault((area_ref, code), [0] * WIDTH)
            for i, x in enumerate(vals):
                acc[i] += x
        for (area, grade), v in sums.items():
            updated = AreaCell.objects.filter(
                academic_year=year, round_key=round_key, area_ref=area, grade=grade
            ).update(
                m=F("m") + v[0],
                f=F("f") + v[1],
                cm=F("cm") + v[2],
                cf=F("cf") + v[3],
                rooms=F("rooms") + v[4],
            )
            if not updated:
                AreaCell.objects.create(
                    academic_year=year,
                    round_key=round_key,
                    area_ref=area,
                    grade=grade,
                    m=v[0],
                    f=v[1],
                    cm=v[2],
                    cf=v[3],
                    rooms=v[4],
                )
        ids = [r[0] for r in rows]
        for i in range(0, len(ids), 900):
            CellDelta.objects.filter(id__in=ids[i : i + 900]).delete()
        return len(rows)


def expected_live(year: int) -> dict[int, Cells]:
    """school id -> its live cells, from the sources (stats rows and rooms)."""
    from dmc.rounds.models import SchoolYearStats
    from dmc.schools.models import SchoolGrade

    rooms: dict[int, dict[str, int]] = {}
    for sid, grade, n in SchoolGrade.objects.filter(academic_year=year).values_list(
        "school_id", "grade", "rooms"
    ):
        rooms.setdefault(sid, {})[grade] = n
    totals = dict(
        SchoolYearStats.objects.filter(academic_year=year).values_list("school_id", "totals")
    )
    return {
        sid: cells_from_totals(totals.get(sid, {}), rooms.get(sid, {}))
        for sid in set(rooms) | set(totals)
    }


def expected_sealed(round_id: int) -> dict[int, Cells]:
    from dmc.rounds.models import SchoolRound

    return {
        sr.school_id: _sealed_cells(sr)
        for sr in SchoolRound.objects.filter(round_id=round_id, confirmed_at__isnull=False)
    }


def _sum_by_area(per_school: dict[int, Cells]) -> dict[tuple[int, str], list[int]]:
    from dmc.schools.models import School

    area_of = dict(School.objects.filter(pk__in=list(per_school)).values_list("pk", "area_id"))
    out: dict[tuple[int, str], list[int]] = {}
    for sid, cells in per_school.items():
        for grade, v in cells.items():
            acc = out.setdefault((area_of[sid], grade), [0] * WIDTH)
            for i, x in enumerate(v):
                acc[i] += x
    return {k: v for k, v in out.items() if any(v)}


def rounds_of(year: int) -> list[int]:
    from dmc.rounds.models import Round

    return list(Round.objects.filter(academic_year__year=year).values_list("pk", flat=True))


def verify(year: int) -> list[str]:
    """Differences between the roll-up and the sources (empty when consistent)."""
    problems = []
    sources = [(LIVE, expected_live(year))] + [(r, expected_sealed(r)) for r in rounds_of(year)]
    for key, per_school in sources:
        want = _sum_by_area(per_school)
        have = area_cells(year, key)
        for k in sorted(set(want) | set(have)):
            if want.get(k) != have.get(k):
                problems.append(
                    f"{year}/{key} area {k[0]} grade {k[1]}: {have.get(k)} != {want.get(k)}"
                )
    return problems


@transaction.atomic
def rebuild(year: int) -> int:
    """Recompute every share and area sum of a year from the sources (after bulk loads)."""
    from dmc.schools.models import School

    area_of = dict(School.objects.values_list("pk", "area_id"))
    sources = [(LIVE, expected_live(year))] + [(r, expected_sealed(r)) for r in rounds_of(year)]
    SchoolShare.objects.filter(academic_year=year).delete()
    AreaCell.objects.filter(academic_year=year).delete()
    CellDelta.objects.filter(academic_year=year).delete()
    n = 0
    for key, per_school in sources:
        SchoolShare.objects.bulk_create(
            [
                SchoolShare(
                    school_id=sid,
                    academic_year=year,
                    round_key=key,
                    area_ref=area_of[sid],
                    cells=_clean(cells),
                )
                for sid, cells in per_school.items()
            ],
            batch_size=1000,
        )
        AreaCell.objects.bulk_create(
            [
                AreaCell(
                    academic_year=year,
                    round_key=key,
                    area_ref=a,
                    grade=g,
                    m=v[0],
                    f=v[1],
                    cm=v[2],
                    cf=v[3],
                    rooms=v[4],
                )
                for (a, g), v in _sum_by_area(per_school).items()
            ],
            batch_size=1000,
        )
        n += len(per_school)
    return n
