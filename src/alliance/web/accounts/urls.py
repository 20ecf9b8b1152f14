from django.contrib.auth import views as auth_views
from django.urls import path

from alliance.web.accounts import two_factor_views
from alliance.web.accounts.views import LoginView, login_code

app_name = "accounts"

urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("login/code/", login_code, name="login_code"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("two-factor/", two_factor_views.security, name="two_factor"),
    path("two-factor/enrol/", two_factor_views.enrol, name="two_factor_enrol"),
    path("security/", two_factor_views.policy, name="security_policy"),
    path(
        "staff/<int:user_id>/two-factor/reset/",
        two_factor_views.reset,
        name="two_factor_reset",
    ),
]
