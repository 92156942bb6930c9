"""Public, unauthenticated booking routes (`/booking/<slug>`)."""
from django.urls import path

from scheduling import public_manage
from scheduling.api.public import BookingView, SlotCheckView, SlotsView, privacy_page

urlpatterns = [
    path("<slug:slug>", BookingView.as_view(), name="public-booking"),
    path("<slug:slug>/slots", SlotsView.as_view(), name="public-booking-slots"),
    path("<slug:slug>/privacy", privacy_page, name="public-booking-privacy"),
    path("<slug:slug>/check", SlotCheckView.as_view(), name="public-booking-check"),
    path("<slug:slug>/manage/<str:token>", public_manage.manage_page, name="public-booking-manage"),
    path("<slug:slug>/manage/<str:token>/calendar.ics", public_manage.calendar_file, name="public-booking-calendar"),
]
