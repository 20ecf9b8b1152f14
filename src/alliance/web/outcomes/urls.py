from django.urls import path

from alliance.web.outcomes import views

app_name = "outcomes"

urlpatterns = [
    path("outcomes/", views.outcomes_page, name="page"),
    path("episodes/<int:pk>/summary/", views.episode_summary, name="summary"),
]
