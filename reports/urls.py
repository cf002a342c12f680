from django.urls import path

from reports import views

app_name = "reports"
urlpatterns = [
    path("media/<uuid:media_item_id>/", views.media_file, name="media_file"),
    path("media/<uuid:media_item_id>/preview/", views.media_preview, name="media_preview"),
]
