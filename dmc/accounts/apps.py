from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dmc.accounts"
    label = "accounts"
