"""``audit.record_many``: a batch of events is stored exactly as ``record`` would store each one
(on PostgreSQL through COPY, elsewhere bulk_create)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from dmc.core import audit
from dmc.core.models import AuditEvent
from tests.conftest import World

FIELDS = (
    "at", "actor_id", "actor_role", "action", "target_type", "target_id", "school_id",
    "area_id", "before", "after", "reason",
)  # fmt: skip


@pytest.mark.parametrize("n", [3, audit.COPY_MIN + 5])
def test_record_many_stores_what_record_stores(world: World, n: int) -> None:
    actor = world.actors["officer_a1"]
    after = {"weight_kg": Decimal("33.3"), "birth_date": dt.date(2010, 5, 1), "name": "ก\tข\\n"}
    events = [
        audit.build(
            actor=actor,
            action="person.update",
            target=world.school_a1,
            before={"i": i, "none": None},
            after=after,
            reason=f"r{i}\n",
        )
        for i in range(n)
    ]
    one = audit.record(actor=actor, action="person.update", target=world.school_a1,
                       before={"i": 0, "none": None}, after=after, reason="r0\n")  # fmt: skip
    start = one.pk
    audit.record_many(events)
    stored = list(AuditEvent.objects.filter(pk__gt=start).order_by("pk").values_list(*FIELDS))
    assert len(stored) == n
    expected = AuditEvent.objects.filter(pk=one.pk).values_list(*FIELDS).get()
    assert stored[0] == expected
    assert [row[8] for row in stored] == [{"i": i, "none": None} for i in range(n)]
    assert stored[0][9] == {"weight_kg": "33.3", "birth_date": "2010-05-01", "name": "ก\tข\\n"}
