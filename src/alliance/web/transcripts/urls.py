from django.urls import path

from alliance.web.transcripts import recording_views, views

app_name = "transcripts"

urlpatterns = [
    path("transcripts/upload/", views.upload, name="upload"),
    path("transcripts/<int:pk>/", views.detail, name="detail"),
    path("transcripts/<int:pk>/delete/", views.delete, name="delete"),
    path("transcripts/<int:pk>/retry/", views.retry, name="retry"),
    path("recordings/upload/", recording_views.upload, name="recording_upload"),
    path("recordings/<int:pk>/", recording_views.detail, name="recording"),
    path("recordings/<int:pk>/counselor/", recording_views.counselor, name="recording_counselor"),
]
