from django.urls import path

from config.api import api
from dmc.accounts import views as accounts
from dmc.demo import views as demo
from dmc.rounds import views as rounds
from dmc.schools import views as schools
from dmc.students import views as students

urlpatterns = [
    path("", schools.home, name="home"),
    path("login/", accounts.login_view, name="login"),
    path("logout/", accounts.logout_view, name="logout"),
    path("role/", accounts.role_pick, name="role-pick"),
    path("register/", accounts.register, name="register"),
    path("approvals/", accounts.approvals, name="approvals"),
    path("lang/", accounts.language_switch, name="lang"),
    path("areas/<str:code>/schools/", schools.area_schools, name="area-schools"),
    path("schools/<str:smis_code>/students/", students.student_list, name="student-list"),
    path("students/<int:enrolment_id>/", students.student_detail, name="student-detail"),
    path("demo/clock/", demo.clock_view, name="demo-clock"),
    path("round/", rounds.school_round, name="school-round"),
    path("school/grades/", schools.school_grades, name="school-grades"),
    path("students/<int:enrolment_id>/explain/", rounds.explain_query, name="explain-query"),
    path("area/round/", rounds.area_round, name="area-round"),
    path("obec/rounds/", rounds.obec_rounds, name="obec-rounds"),
    path("obec/rounds/<int:round_id>/", rounds.obec_round_edit, name="obec-round-edit"),
    path("api/v1/", api.urls),
]
