from django.urls import path, re_path

from config.api import api, api_not_found
from dmc.accounts import views as accounts
from dmc.budget import views as budget  # issue 7
from dmc.cases import views as cases
from dmc.demo import views as demo
from dmc.exchange import import_views as imports
from dmc.exchange import views as exchange
from dmc.nutrition import views as nutrition  # issue 7
from dmc.privacy import views as privacy
from dmc.reports import views as reports
from dmc.rounds import certificate  # issue 7
from dmc.rounds import views as rounds
from dmc.schools import views as schools
from dmc.students import views as students
from dmc.students import views_movements as moves
from dmc.yearend import views as yearend

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
    path("students/add/", moves.student_add, name="student-add"),
    path("students/transfer-in/", moves.transfer_in, name="transfer-in"),
    path("students/<int:enrolment_id>/action/", moves.student_action, name="student-action"),
    path("schools/<str:smis_code>/students/bulk/", moves.student_bulk, name="student-bulk"),
    path("cases/", cases.case_list, name="case-list"),
    path("cases/<int:case_id>/", cases.case_detail, name="case-detail"),
    path(
        "cases/<int:case_id>/evidence/<int:attachment_id>/",
        cases.attachment_download,
        name="case-evidence",
    ),
    path("demo/clock/", demo.clock_view, name="demo-clock"),
    path("round/", rounds.school_round, name="school-round"),
    path("school/grades/", schools.school_grades, name="school-grades"),
    path("students/<int:enrolment_id>/explain/", rounds.explain_query, name="explain-query"),
    path("area/round/", rounds.area_round, name="area-round"),
    path("obec/rounds/", rounds.obec_rounds, name="obec-rounds"),
    path("obec/rounds/<int:round_id>/", rounds.obec_round_edit, name="obec-round-edit"),
    path(
        "schools/<str:smis_code>/students.csv",
        exchange.export_students,
        {"fmt": "csv"},
        name="export-students-csv",
    ),
    path(
        "schools/<str:smis_code>/students.xlsx",
        exchange.export_students,
        {"fmt": "xlsx"},
        name="export-students-xlsx",
    ),
    path("schools/<str:smis_code>/template.xlsx", exchange.school_template, name="school-template"),
    path("schools/<str:smis_code>/totals.xlsx", exchange.school_totals, name="school-totals"),
    # issue 9: password change, PDPA purpose form and the student's access report
    path("password/", accounts.password_change, name="password-change"),
    path("privacy/purpose/", privacy.purpose_form, name="access-purpose"),
    path(
        "students/<int:enrolment_id>/access/", privacy.access_report, name="student-access-report"
    ),
    path("api/v1/", api.urls),
    path("api/v1/<path:rest>", api_not_found),  # unmatched API paths: the JSON error shape
    re_path(r"^api/v1/(?P<rest>(?s:.*))\Z", api_not_found),  # ... even with a newline in them
    # issue 5: end of year and rollover
    path("yearend/", yearend.yearend_home, name="yearend"),
    path("yearend/results.xlsx", yearend.yearend_workbook, name="yearend-workbook"),
    path("yearend/import/", yearend.yearend_import, name="yearend-import"),
    path("yearend/learning/", yearend.learning_overview, name="yearend-learning"),
    path("yearend/rollover/", yearend.rollover_page, name="rollover"),
    path("yearend/<str:menu>/", yearend.yearend_grid, name="yearend-grid"),
    path("imports/", imports.import_upload, name="import-upload"),
    path("imports/jobs/<int:job_id>/", imports.import_job, name="import-job"),
    path("imports/<str:upload_id>/", imports.import_preview, name="import-preview"),
    path("imports/<str:upload_id>/commit/", imports.import_commit, name="import-commit"),
    path("imports/<str:upload_id>/result/", imports.import_result, name="import-result"),
    path(
        "imports/<str:upload_id>/quarantine.xlsx",
        imports.import_quarantine,
        name="import-quarantine",
    ),
    # issue 7: nutrition, per-head budget, the certification PDF
    path("nutrition/", nutrition.nutrition_page, name="nutrition"),
    path("nutrition/table.xlsx", nutrition.nutrition_xlsx, name="nutrition-xlsx"),
    path("budget/", budget.budget_page, name="budget"),
    path("budget/table.xlsx", budget.budget_xlsx, name="budget-xlsx"),
    path("round/certificate.pdf", certificate.certificate_pdf, name="round-certificate"),
    # issue 7: reports and dashboards
    path("reports/", reports.reports_home, name="reports-home"),
    path("reports/nation/", reports.totals_nation, name="reports-nation"),
    path("reports/nation/cell/", reports.nation_cell, name="reports-nation-cell"),
    path("reports/areas/<str:code>/", reports.totals_area, name="reports-area"),
    path("reports/areas/<str:code>/cell/", reports.area_cell, name="reports-area-cell"),
    path("reports/schools/<str:smis_code>/", reports.totals_school, name="reports-school"),
    path("reports/schools/<str:smis_code>/students/", reports.students, name="reports-students"),
    path("reports/progress/", reports.progress, name="reports-progress"),
    path("reports/summary/", reports.summary, name="reports-summary"),
    path("reports/jobs/", reports.job_start, name="reports-job-start"),
    path("reports/jobs/<int:job_id>/", reports.job_status, name="reports-job"),
    path("reports/jobs/<int:job_id>/download/", reports.job_download, name="reports-job-download"),
]
