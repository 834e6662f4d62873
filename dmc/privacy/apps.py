from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    """PDPA controls (issue 9): purpose-gated reads and the access log, the per-student data
    access report, the retention/anonymisation job. Its one model lives in ``dmc.core``."""

    name = "dmc.privacy"
    label = "privacy"
    default_auto_field = "django.db.models.BigAutoField"
