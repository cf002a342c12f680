from django.urls import path

from reports.api import views

urlpatterns = [
    path("reports/", views.ReportListView.as_view(), name="api-partner-reports"),
    path("reports/<str:report_id>/", views.ReportDetailView.as_view(), name="api-partner-report"),
    path(
        "reports/<str:report_id>/media/",
        views.ReportMediaView.as_view(),
        name="api-partner-report-media",
    ),
    path(
        "reports/<str:report_id>/publishable-copies/",
        views.ReportCopiesView.as_view(),
        name="api-partner-report-copies",
    ),
    path(
        "reports/<str:report_id>/partner-case/",
        views.PartnerCaseView.as_view(),
        name="api-partner-report-case",
    ),
    path(
        "media/<str:token>/", views.MediaDownloadView.as_view(), name="api-partner-media-download"
    ),
    path(
        "publishable-copies/<str:token>/",
        views.CopyDownloadView.as_view(),
        name="api-partner-copy-download",
    ),
]
