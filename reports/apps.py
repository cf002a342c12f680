from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports.roles import roles_ensure

        # After auth has created the permissions for our models.
        post_migrate.connect(roles_ensure, sender=self)
