from django.apps import AppConfig


class RoundsConfig(AppConfig):
    name = "dmc.rounds"
    label = "rounds"
