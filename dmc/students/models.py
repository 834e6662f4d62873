from __future__ import annotations

from django.db import models

from dmc.schools.models import School


class Person(models.Model):
    """One human, nationally: identity and the personal fields of DMC's student list.

    ``person_id`` is the bare 13-digit citizen ID or a G-code; it changes only through an
    ID-correction case (L1). ``name_key`` is the Thai collation key of "first last" so lists sort in
    Thai dictionary order in the database.
    """

    class IdKind(models.TextChoices):
        CITIZEN = "citizen", "เลขประจำตัวประชาชน"
        GCODE = "gcode", "รหัส G"

    class Sex(models.TextChoices):
        MALE = "M", "ชาย"
        FEMALE = "F", "หญิง"

    person_id = models.CharField(max_length=13, unique=True)
    id_kind = models.CharField(max_length=8, choices=IdKind.choices)
    gcode_certified_at = models.DateTimeField(null=True, blank=True)
    document_type = models.CharField(max_length=1, default="I")
    title_code = models.CharField(max_length=3)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    name_key = models.CharField(max_length=900, db_index=True)
    sex = models.CharField(max_length=1, choices=Sex.choices)
    birth_date = models.DateField()
    blood = models.CharField(max_length=2, blank=True)
    religion = models.CharField(max_length=3, blank=True)
    race = models.CharField(max_length=3, blank=True)
    nationality = models.CharField(max_length=3, blank=True)
    house_no = models.CharField(max_length=50, blank=True)
    moo = models.CharField(max_length=10, blank=True)
    street = models.CharField(max_length=150, blank=True)
    subdistrict = models.CharField(max_length=100, blank=True)
    district = models.CharField(max_length=100, blank=True)
    province = models.CharField(max_length=100, blank=True)
    guardian_first_name = models.CharField(max_length=100, blank=True)
    guardian_last_name = models.CharField(max_length=100, blank=True)
    guardian_occupation = models.CharField(max_length=3, blank=True)
    guardian_relation = models.CharField(max_length=3, blank=True)
    father_first_name = models.CharField(max_length=100, blank=True)
    father_last_name = models.CharField(max_length=100, blank=True)
    father_occupation = models.CharField(max_length=3, blank=True)
    mother_first_name = models.CharField(max_length=100, blank=True)
    mother_last_name = models.CharField(max_length=100, blank=True)
    mother_occupation = models.CharField(max_length=3, blank=True)
    disadvantaged = models.CharField(max_length=2, blank=True)
    disability = models.CharField(max_length=2, blank=True)
    scout = models.CharField(max_length=1, blank=True)
    redcross = models.CharField(max_length=1, blank=True)
    swimming = models.CharField(max_length=1, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name_key"]
        constraints = [
            models.CheckConstraint(condition=models.Q(sex__in=["M", "F"]), name="person_sex"),
            models.CheckConstraint(
                condition=models.Q(id_kind__in=["citizen", "gcode"]), name="person_id_kind"
            ),
        ]

    def __str__(self) -> str:
        return f"person {self.pk}"  # never the name or ID: str() ends up in logs


class Enrolment(models.Model):
    """A person at a school in an academic year (student number, grade, room, status).

    D1: at most one ACTIVE enrolment per person per academic year, nationally, enforced by a
    partial unique index (works on SQLite and PostgreSQL).
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "กำลังศึกษา"
        TRANSFERRED_OUT = "transferred_out", "ย้ายออก"
        WITHDRAWN = "withdrawn", "จำหน่าย"
        DROPOUT = "dropout", "ออกกลางคัน"
        GRADUATED = "graduated", "จบการศึกษา"
        CLOSED = "closed", "สิ้นสุดปีการศึกษา"

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="enrolments")
    school = models.ForeignKey(School, on_delete=models.PROTECT, related_name="enrolments")
    academic_year = models.PositiveSmallIntegerField()
    student_no = models.CharField(max_length=20)
    grade = models.CharField(max_length=2)
    room = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    tracked_318 = models.BooleanField(default=False)
    weight_kg = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(max_digits=5, decimal_places=1, null=True, blank=True)
    admitted_on = models.DateField(null=True, blank=True)
    left_on = models.DateField(null=True, blank=True)
    leave_reason = models.CharField(max_length=2, blank=True)  # withdrawal_reason code list
    dropout_reason = models.CharField(max_length=2, blank=True)  # dropout_reason code list
    leave_note = models.CharField(max_length=300, blank=True)
    # the end-of-year round: sat this year's final exam at this school (L2/L5; 3.2.2 fills it)
    sat_exam = models.BooleanField(null=True, blank=True)
    # end of year (L8, menus 3.2.2 -> 3.2.2.1 -> 3.2.2.2; dmc.yearend): "" = pending
    year_result = models.CharField(
        max_length=4, blank=True, default="", db_default=""
    )  # pass | fail
    years_studied = models.PositiveSmallIntegerField(null=True, blank=True)
    failed_evaluations = models.CharField(
        max_length=20, blank=True, default="", db_default=""
    )  # "1,3"
    destination = models.CharField(max_length=3, blank=True, default="", db_default="")  # graduates
    # maintained by rounds.stats on every change: the checklist keys this student triggers
    # (" L3.weight_missing D5.title ", a trailing "!" marks an explained query) and D4
    checks = models.CharField(max_length=300, blank=True, default="")
    counted = models.BooleanField(default=True)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["school", "grade", "room", "student_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["person", "academic_year"],
                condition=models.Q(status="active"),
                name="enrolment_one_active_per_year",
            ),
            models.UniqueConstraint(
                fields=["school", "academic_year", "student_no"],
                condition=models.Q(status="active"),
                name="enrolment_student_no_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(grade__gte="01", grade__lte="18"), name="enrolment_grade_code"
            ),
            models.CheckConstraint(condition=models.Q(room__gte=1), name="enrolment_room_min"),
            models.CheckConstraint(
                condition=models.Q(year_result__in=["", "pass", "fail"]),
                name="enrolment_year_result",
            ),
        ]
        indexes = [
            models.Index(fields=["school", "academic_year", "status"], name="enrol_school_year"),
        ]

    def __str__(self) -> str:
        return f"enrolment {self.pk}"
