from django.urls import path

from alliance.web.feedback import staff, views

app_name = "feedback"

urlpatterns = [
    path("f/thanks/", views.thanks, name="thanks"),
    path("f/<str:token>/", views.start, name="start"),
    path("f/<str:token>/<int:step>/", views.step, name="step"),
    path("tablet/locked/", views.locked, name="locked"),
    path("sessions/<int:pk>/link/", staff.create_link_view, name="create_link"),
    path("sessions/<int:pk>/tablet/", staff.tablet_view, name="tablet"),
    path("clients/<int:pk>/discharge/", staff.discharge_view, name="discharge"),
]
