from django.urls import path

from alliance.web.dashboard import views

app_name = "dashboard"

urlpatterns = [
    path("", views.caseload, name="caseload"),
    path("clients/<int:pk>/", views.client_page, name="client"),
    path("clients/<int:pk>/sessions/", views.sessions_page, name="sessions"),
    path("worklist/", views.worklist, name="worklist"),
    path("team/", views.team, name="team"),
    path("audit/", views.audit_log, name="audit"),
]
