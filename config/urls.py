from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from reports.api.docs import PartnerDocsView

# Problem details under /api/ and /tus/, Django's usual pages elsewhere (reports.problems).
handler400 = "reports.problems.bad_request"
handler404 = "reports.problems.page_not_found"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("staff/", include("reports.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", PartnerDocsView.as_view(), name="api-docs"),
    path("api/v1/intake/", include("intake.api_urls")),
    path("api/v1/", include("reports.api.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("intake.urls")),
]

# Every unexpected error answers in the visitor's language (a page, or JSON under /api/).
handler500 = "intake.views.server_error"
