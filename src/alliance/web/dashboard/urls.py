from django.urls import path

from alliance.web.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("clients/new/", views.client_new, name="client_new"),
    path("clients/<int:pk>/", views.client_page, name="client"),
    path("clients/<int:pk>/sessions/", views.sessions_page, name="sessions"),
    path("clients/<int:pk>/sessions/new/", views.session_new, name="session_new"),
    path("sessions/<int:pk>/status/", views.session_status, name="session_status"),
    path("clients/<int:pk>/plan/", views.plan_add, name="plan_add"),
    path("plan/<int:pk>/remove/", views.plan_remove, name="plan_remove"),
    path("clients/<int:pk>/discharge/", views.episode_close, name="episode_close"),
    path("clients/<int:pk>/episodes/new/", views.episode_open, name="episode_open"),
    path("alerts/<int:pk>/ack/", views.alert_ack, name="alert_ack"),
    path("team/", views.team, name="team"),
    path("audit/", views.audit_log, name="audit"),
]
