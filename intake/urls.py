from django.urls import path

from intake import views

app_name = "intake"
urlpatterns = [
    path("", views.report_new, name="report_new"),
]
