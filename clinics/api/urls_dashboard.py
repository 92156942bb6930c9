"""Routes of the clinics app on the dashboard surface (docs/api/dashboard.md)."""
from django.urls import path

from . import views

urlpatterns = [
    path("auth/register", views.RegisterView.as_view(), name="dashboard-auth-register"),
    path("auth/login", views.LoginView.as_view(), name="dashboard-auth-login"),
    path("auth/refresh", views.RefreshView.as_view(), name="dashboard-auth-refresh"),
    path("auth/logout", views.LogoutView.as_view(), name="dashboard-auth-logout"),
    path("auth/me", views.MeView.as_view(), name="dashboard-auth-me"),
    path("settings/api-keys", views.ApiKeyListCreateView.as_view(), name="dashboard-api-keys"),
    path("settings/api-keys/<uuid:key_id>", views.ApiKeyDetailView.as_view(), name="dashboard-api-key"),
    path("settings/notifications", views.NotificationSettingsView.as_view(), name="dashboard-notifications"),
    path("team/members", views.TeamMembersView.as_view(), name="dashboard-team-members"),
    path("team/members/<uuid:member_id>", views.TeamMemberDetailView.as_view(), name="dashboard-team-member"),
    path("team/invite", views.TeamInviteView.as_view(), name="dashboard-team-invite"),
]
