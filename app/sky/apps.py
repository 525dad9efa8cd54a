from django.apps import AppConfig


class SkyConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "sky"
    verbose_name = "Sky positions"
