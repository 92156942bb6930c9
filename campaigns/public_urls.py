"""Public pages opened from an SMS (no login; the token is the credential): triage, feedback and the confirmation
of a marketing consent given on the booking page.

config/urls.py mounts them with one line, `path("", include("campaigns.public_urls"))`, or per prefix with
`path("triagem/", include(triage_urlpatterns))` and `path("feedback/", include(feedback_urlpatterns))`.
"""
from django.urls import path

from . import public_views

triage_urlpatterns = [path("<str:token>", public_views.triage, name="public-triage")]
feedback_urlpatterns = [path("<str:token>", public_views.feedback, name="public-feedback")]

urlpatterns = [
    path("triagem/<str:token>", public_views.triage, name="public-triage"),
    path("feedback/<str:token>", public_views.feedback, name="public-feedback"),
    path("marketing-consent/<str:token>", public_views.marketing_consent, name="public-marketing-consent"),
]
