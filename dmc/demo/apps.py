from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "dmc.demo"
    label = "demo"
