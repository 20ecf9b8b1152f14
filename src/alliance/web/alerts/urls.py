from django.urls import path

from alliance.web.alerts import views

app_name = "alerts"

urlpatterns = [
    path("alerts/<int:pk>/ack/", views.acknowledge_view, name="ack"),
]
