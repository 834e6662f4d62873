from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "dmc.jobs"
    label = "jobs"

    def ready(self) -> None:
        # the kinds register their handlers when their modules are imported
        from dmc.exchange import import_jobs  # noqa: F401
        from dmc.reports import jobs  # noqa: F401
