from django.urls import path

from alliance.web.clinic import views

app_name = "clinic"

urlpatterns = [
    path("clients/new/", views.client_new, name="client_new"),
    path("clients/<int:pk>/sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:pk>/status/", views.session_status, name="session_status"),
    path("clients/<int:pk>/plan/", views.plan_add, name="plan_add"),
    path("plan/<int:pk>/remove/", views.plan_remove, name="plan_remove"),
    path("clients/<int:pk>/episodes/new/", views.episode_open, name="episode_open"),
]
