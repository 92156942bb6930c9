"""Public, unauthenticated booking routes (`/booking/<slug>`)."""
from django.urls import path

from scheduling.api.public import BookingView, SlotsView

urlpatterns = [
    path("<slug:slug>", BookingView.as_view(), name="public-booking"),
    path("<slug:slug>/slots", SlotsView.as_view(), name="public-booking-slots"),
]
