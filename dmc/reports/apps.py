from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "dmc.reports"
    label = "reports"

    def ready(self) -> None:
        from dmc.reports import rollup

        rollup.connect()
