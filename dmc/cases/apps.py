from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "dmc.cases"
    label = "cases"
