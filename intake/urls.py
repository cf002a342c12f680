from django.urls import path

from intake import tus, views

app_name = "intake"
urlpatterns = [
    path("", views.report_new, name="report_new"),
    path("receipt/", views.receipt, name="receipt"),
    path("follow-up/", views.followup, name="followup"),
    path("follow-up/send/", views.followup_send, name="followup_send"),
    path("follow-up/close/", views.followup_end, name="followup_end"),
    path("safety/", views.safety, name="safety"),
    path("language/<str:code>/", views.language, name="language"),
    path("exit/", views.quick_exit, name="exit"),
    path("tus/", tus.tus_create, name="tus_create"),
    path("tus/<str:key>/", tus.tus_upload, name="tus_upload"),
]
