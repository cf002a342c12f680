from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class ReportsConfig(AppConfig):
    default = True
    name = "reports"
    verbose_name = "Reports"

    def ready(self) -> None:
        from reports import signals
        from reports.roles import roles_ensure

        # After auth has created the permissions for our models.
        post_migrate.connect(roles_ensure, sender=self)
        signals.connect()


class TestigoAdminConfig(admin_apps.AdminConfig):
    """The Django admin, as a site that requires a second factor for every login."""

    default = False
    default_site = "reports.admin_site.TestigoAdminSite"
