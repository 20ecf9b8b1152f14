"""/manage/: clinic administration for clinic admins (their own clinic only): staff and teams
(accounts), the instrument plan (clinic), the messaging schedule (messaging) and the
transcript model packs (transcripts), hence at the project level, above both apps."""

from django.urls import path

from alliance.web.accounts import staff
from alliance.web.clinic import instrument_views
from alliance.web.messaging import manage_views as messaging_views
from alliance.web.transcripts import manage_views as transcript_views

app_name = "manage"

urlpatterns = [
    path("staff/", staff.staff_list, name="staff"),
    path("staff/new/", staff.staff_new, name="staff_new"),
    path("staff/<int:pk>/", staff.staff_detail, name="staff_detail"),
    path("staff/<int:pk>/role/", staff.staff_role, name="staff_role"),
    path("staff/<int:pk>/active/", staff.staff_active, name="staff_active"),
    path("staff/<int:pk>/password/", staff.staff_password, name="staff_password"),
    path("teams/", staff.teams, name="teams"),
    path("teams/<int:pk>/rename/", staff.team_rename, name="team_rename"),
    path("instruments/", instrument_views.instruments, name="instruments"),
    path("instruments/<int:pk>/", instrument_views.instrument_update, name="instrument_update"),
    path("messaging/", messaging_views.schedule_settings, name="messaging"),
    path("transcripts/", transcript_views.transcript_models, name="transcript_models"),
    path("transcripts/policy/", transcript_views.transcript_policy, name="transcript_policy"),
]
