from django.urls import path

from alliance.web.messaging import views

app_name = "messaging"

urlpatterns = [
    path("u/<str:token>/", views.unsubscribe_view, name="unsubscribe"),
    path("clients/<int:pk>/contact/", views.contact_view, name="contact"),
    path("sessions/<int:pk>/send/<str:channel>/", views.send_view, name="send"),
]
