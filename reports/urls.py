"""Staff pages outside the admin: sanitized media (behind the admin's own login, second
factor and role checks) and the one-time enrolment page (the link is the credential)."""

from django.contrib import admin
from django.urls import path

from reports import enrolment, views

app_name = "reports"
urlpatterns = [
    path(
        "media/<uuid:media_item_id>/",
        admin.site.admin_view(views.media_file),
        name="media_file",
    ),
    path(
        "media/<uuid:media_item_id>/preview/",
        admin.site.admin_view(views.media_preview),
        name="media_preview",
    ),
    path("enrol/<str:uidb64>/<str:token>/", enrolment.staff_enrol, name="staff_enrol"),
]
