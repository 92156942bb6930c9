"""Console pages of billing (namespace "billing"); config/urls.py mounts them with
`path("billing/", include("billing.urls"))`."""
from django.urls import path

from . import views

app_name = "billing"
urlpatterns = [
    path("", views.index, name="index"),
    path("upgrade/", views.upgrade, name="upgrade"),
    path("change-plan/", views.change_plan, name="change_plan"),
    path("cancel/", views.cancel, name="cancel"),
    path("portal/", views.portal, name="portal"),
    path("checkout/<str:session>", views.local_checkout, name="checkout"),
]
