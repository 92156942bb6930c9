"""Console routes of the clinics app (namespace "console"); other apps mount their pages beside these."""
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from . import views

app_name = "console"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password-reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password-reset/done/", auth_views.PasswordResetCompleteView.as_view(
        extra_context={"login_url": reverse_lazy("console:login")}), name="password_reset_complete"),
    path("profile/", views.profile, name="profile"),
    path("profile/two-factor/", views.two_factor_setup, name="two_factor_setup"),
    path("clinic/switch/", views.switch_clinic, name="switch_clinic"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/<uuid:member_id>/remove/", views.team_remove, name="team_remove"),
    # The invitation e-mail of clinics.services.invite_member links here, without a trailing slash.
    path("invite/<str:token>", views.accept_invitation, name="accept_invitation"),
    path("settings/", views.clinic_settings, name="settings"),
    path("api-keys/", views.api_keys, name="api_keys"),
    path("api-keys/<uuid:key_id>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
