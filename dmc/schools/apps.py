from django.apps import AppConfig


class SchoolsConfig(AppConfig):
    name = "dmc.schools"
    label = "schools"
