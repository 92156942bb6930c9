"""The console page of the clinic's weekly opening hours (the hours new professionals start with), edited with the
same per-weekday grid as a professional's hours and saved through `services.clinic_opening_hours_update`."""
from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from clinics.errors import DomainError
from clinics.views import console_page

from . import services
from .forms import OpeningHoursForm


@console_page(write=True)
def opening_hours(request):
    """Everyone of the clinic sees the week; a viewer's POST is refused (403) like every console write."""
    form = OpeningHoursForm(request.POST or None, clinic=request.clinic)
    if request.method == "POST" and form.is_valid():
        try:
            services.clinic_opening_hours_update(clinic=request.clinic, schedule=form.schedule, actor=request)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Opening hours saved."))
            return redirect("scheduling:opening_hours")
    return render(request, "scheduling/console/opening_hours.html", {"form": form},
                  status=400 if form.errors else 200)
