from typing import Any

from django.apps import AppConfig


def _drop_calendar(**_: Any) -> None:
    from dmc.rounds.selectors import invalidate_calendar

    invalidate_calendar()


class RoundsConfig(AppConfig):
    name = "dmc.rounds"
    label = "rounds"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from dmc.rounds.models import AcademicYear, Round

        # a change to the calendar made in this process is seen by its next request at once
        for model in (AcademicYear, Round):
            post_save.connect(
                _drop_calendar, sender=model, dispatch_uid=f"calendar-{model.__name__}"
            )
            post_delete.connect(
                _drop_calendar, sender=model, dispatch_uid=f"calendar-del-{model.__name__}"
            )
