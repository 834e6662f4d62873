from django.apps import AppConfig


class StudentsConfig(AppConfig):
    name = "dmc.students"
    label = "students"
