"""Routes of the clinics app on the v1 surface (docs/api/clinic-v1.md)."""
from django.urls import path

from . import views

urlpatterns = [
    path("tenants/me", views.TenantMeView.as_view(), name="v1-tenant-me"),
    path("audit", views.AuditLogView.as_view(), name="v1-audit"),
]
