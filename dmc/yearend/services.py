"""The end-of-year steps (seed letter L8): 3.2.2 passed/failed and years studied for every
student who sat the final exam; 3.2.2.1 the evaluations a repeater did not pass; 3.2.2.2 a
graduate's destination. Each step works from its menu date and only once every earlier step
is complete for the school; the pending counts come from the school's maintained statistics.

``record_step`` takes many students at once (a class grid, an import, the API): with
``strict`` one refusal refuses the whole batch and nothing changes; otherwise the good rows are
saved and each refusal is reported with its reason. Every change is audited and keeps the
school's checklist counts current (pending students block confirmation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from dmc.accounts.actor import Actor
from dmc.accounts.models import Role
from dmc.core import audit, clock
from dmc.core.errors import DmcError, ErrorCode, not_found
from dmc.rounds import stats
from dmc.rounds.rules import YEAR_END_MENUS, check_year_end_step
from dmc.rounds.selectors import menu_window, require_entry_round
from dmc.schools.models import School
from dmc.students.models import Enrolment
from dmc.yearend import rules

YEAR_END_FIELDS = ("year_result", "years_studied", "failed_evaluations", "destination", "sat_exam")
PENDING_KEYS = {
    "3.2.2": "L8.result_pending",
    "3.2.2.1": "L8.evaluations_missing",
    "3.2.2.2": "L8.destination_missing",
}


@dataclass(frozen=True)
class Entry:
    """One student's values for one step (only the step's own fields are read)."""

    enrolment_id: int
    result: object = None  # 3.2.2
    years_studied: object = None  # 3.2.2
    failed_evaluations: object = None  # 3.2.2.1: codes (list or "1,3") or labels
    destination: object = None  # 3.2.2.2
    version: int | None = None  # optimistic lock (the grid sends it)
    row: int | None = None  # the spreadsheet row, for imports


@dataclass(frozen=True)
class Refusal:
    enrolment_id: int
    row: int | None
    code: str
    message: str
    fields: dict[str, list[str]]


@dataclass
class StepOutcome:
    menu: str
    saved: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "menu": self.menu,
            "saved": self.saved,
            "unchanged": self.unchanged,
            "refused": [r.__dict__ for r in self.refused],
        }


def pending_counts(check_counts: dict[str, int]) -> dict[str, int]:
    """Students still pending per menu, from a school's maintained checklist counts."""
    return {menu: check_counts.get(key, 0) for menu, key in PENDING_KEYS.items()}


def _new_values(menu: str, e: Enrolment, entry: Entry) -> dict[str, Any]:
    """The step's new field values for one student (the rules raise on bad input)."""
    if menu == "3.2.2":
        rules.check_sat_exam(tracked_318=e.tracked_318)
        result = rules.check_result(entry.result)
        years = rules.check_years_studied(entry.years_studied)
        values: dict[str, Any] = {"year_result": result, "years_studied": years, "sat_exam": True}
        # a changed result makes the later step's answer meaningless: it is asked again
        if result == rules.PASS:
            values["failed_evaluations"] = ""
        if not rules.is_graduate(year_result=result, grade=e.grade):
            values["destination"] = ""
        return values
    rules.check_sat_exam(tracked_318=e.tracked_318)
    if menu == "3.2.2.1":
        return {
            "failed_evaluations": rules.check_evaluations(
                year_result=e.year_result, value=entry.failed_evaluations
            )
        }
    return {
        "destination": rules.check_destination(
            year_result=e.year_result, grade=e.grade, value=entry.destination
        )
    }


def _refusal(entry: Entry, exc: DmcError) -> Refusal:
    return Refusal(entry.enrolment_id, entry.row, exc.code.value, exc.message, exc.fields or {})


@transaction.atomic
def record_step(
    *,
    actor: Actor,
    school: School,
    year: int,
    menu: str,
    entries: list[Entry],
    strict: bool = True,
) -> StepOutcome:
    """Record one year-end step for many students of one school (see the module docstring).

    Raises (nothing saved): ROLE_NOT_ALLOWED, NOT_FOUND (school out of scope), WINDOW_CLOSED
    (entry or the menu's window), CONFIRMED_READ_ONLY (D8), YEAR_END_ORDER (L8), and with
    ``strict`` VALIDATION carrying every refusal (``exc.refusals``).
    """
    actor.require_role(Role.SCHOOL_OFFICER, Role.OBEC_ADMIN)
    if menu not in YEAR_END_MENUS:
        raise not_found()
    if not actor.covers_school(school.pk, school.area_id):
        raise not_found()
    now = clock.now()
    r = require_entry_round(year, now, school.pk)
    window = menu_window(r, menu, now)
    school_stats = stats.locked_stats(school.pk, year)  # also serialises steps per school
    check_year_end_step(
        menu,
        opens=window.opens_at,
        closes=window.closes_at,
        now=now,
        pending_before=pending_counts(school_stats.checks),
    )
    found = {
        e.pk: e
        for e in Enrolment.objects.select_for_update(of=("self",))
        .select_related("person")
        .filter(
            pk__in=[entry.enrolment_id for entry in entries],
            school=school,
            academic_year=year,
            status=Enrolment.Status.ACTIVE,
        )
    }
    outcome = StepOutcome(menu)
    changes: list[tuple[Enrolment, dict[str, Any]]] = []
    seen: dict[int, Entry] = {}
    for entry in entries:
        try:
            first = seen.get(entry.enrolment_id)
            if first is not None:
                raise DmcError(
                    ErrorCode.DUPLICATE_IN_FILE,
                    field_th="นักเรียน",
                    field_en="Student",
                    value=entry.enrolment_id,
                    first_row=first.row or "-",
                )
            seen[entry.enrolment_id] = entry
            e = found.get(entry.enrolment_id)
            if e is None:
                raise not_found()
            if entry.version is not None and entry.version != e.version:
                raise DmcError(ErrorCode.STALE_VERSION, http_status=409, changed_at="-")
            values = _new_values(menu, e, entry)
        except DmcError as exc:
            outcome.refused.append(_refusal(entry, exc))
            continue
        if all(getattr(e, k) == v for k, v in values.items()):
            outcome.unchanged.append(e.pk)
        else:
            changes.append((e, values))
    if strict and outcome.refused:
        error = DmcError(
            ErrorCode.VALIDATION,
            http_status=400,
            fields={
                str(ref.enrolment_id if ref.row is None else ref.row): [ref.message]
                for ref in outcome.refused
            },
        )
        error.refusals = outcome.refused  # type: ignore[attr-defined]
        raise error
    for e, values in changes:
        before = audit.snapshot(e, YEAR_END_FIELDS)
        contribution = stats.contribution(e, e.person.sex)
        for name, value in values.items():
            setattr(e, name, value)
        e.version += 1
        e.save(update_fields=[*YEAR_END_FIELDS, "version", "updated_at"])
        stats.enrolment_changed(e, e.person, before=contribution)
        b, a = audit.diff(before, audit.snapshot(e, YEAR_END_FIELDS))
        audit.record(
            actor=actor,
            action=f"yearend.{menu}",
            target=e,
            before=b,
            after=a,
            school_id=school.pk,
            area_id=school.area_id,
        )
        outcome.saved.append(e.pk)
    return outcome
