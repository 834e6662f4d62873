from __future__ import annotations

from django.db import models


class AcademicYear(models.Model):
    """ปีการศึกษา, keyed by its Buddhist-era year (2564 = May 2021 - March 2022)."""

    year = models.PositiveSmallIntegerField(unique=True)
    starts_on = models.DateField()
    ends_on = models.DateField()

    class Meta:
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class Round(models.Model):
    """One collection round of a year: 1 (as of 10 June), 2 (10 November), 3 (end of year).

    The state is derived from these OBEC-set windows and the server clock (``rules.round_state``);
    ``closed_at``/``published_at`` are set by OBEC's actions.
    """

    academic_year = models.ForeignKey(AcademicYear, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    as_of_date = models.DateField(null=True, blank=True)
    entry_opens_at = models.DateTimeField()
    entry_closes_at = models.DateTimeField()
    id_correction_deadline = models.DateTimeField()
    confirm_opens_at = models.DateTimeField()
    confirm_closes_at = models.DateTimeField()
    self_cancel_deadline = models.DateTimeField()
    area_ack_closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["academic_year", "number"]
        constraints = [
            models.UniqueConstraint(fields=["academic_year", "number"], name="round_unique"),
            models.CheckConstraint(condition=models.Q(number__in=[1, 2, 3]), name="round_number"),
            models.CheckConstraint(
                condition=models.Q(entry_opens_at__lte=models.F("confirm_opens_at"))
                & models.Q(confirm_opens_at__lt=models.F("confirm_closes_at"))
                & models.Q(confirm_closes_at__lte=models.F("area_ack_closes_at")),
                name="round_windows_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.academic_year.year}/{self.number}"


class MenuWindow(models.Model):
    """A named menu window inside a round, e.g. the end-of-year menus 3.2.2 from 1 March."""

    round = models.ForeignKey(Round, on_delete=models.CASCADE, related_name="menus")
    menu = models.CharField(max_length=16)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()

    class Meta:
        ordering = ["round", "menu"]
        constraints = [models.UniqueConstraint(fields=["round", "menu"], name="menu_window_unique")]

    def __str__(self) -> str:
        return f"menu {self.menu}"
