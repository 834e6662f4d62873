from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "dmc.core"
    label = "core"
    verbose_name = "Open DMC core"
