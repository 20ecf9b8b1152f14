from django.urls import path

from alliance.web.transcripts import views

app_name = "transcripts"

urlpatterns = [
    path("transcripts/upload/", views.upload, name="upload"),
    path("transcripts/<int:pk>/", views.detail, name="detail"),
    path("transcripts/<int:pk>/delete/", views.delete, name="delete"),
    path("transcripts/<int:pk>/retry/", views.retry, name="retry"),
]
