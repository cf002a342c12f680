from django.urls import path

from intake.api import IntakeReportView

urlpatterns = [
    path("reports/", IntakeReportView.as_view(), name="api-intake-report"),
]
