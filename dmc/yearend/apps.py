from django.apps import AppConfig


class YearEndConfig(AppConfig):
    name = "dmc.yearend"
    label = "yearend"
