"""The patient record's "Send a message" action (scheduling/record.py links here): an SMS to the patient's phone,
sent through `services.message_send` after staff confirm the text. Telephony owns messages and may read
scheduling's patients; scheduling never imports this module."""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from clinics import audit
from clinics.errors import DomainError
from clinics.views import console_page
from scheduling.models import Patient
from scheduling.patients import ERASED_TAG

from . import services
from .exceptions import MessageDeliveryFailed
from .services import MAX_BODY_LENGTH


@console_page(write=True)
def patient_message(request, patient_id):
    """GET: the message form for one patient of the clinic; POST: send it (audited as `message.sent`)."""
    if not request.auth.can("write"):
        raise PermissionDenied
    patient = get_object_or_404(Patient.objects.for_clinic(request.clinic), pk=patient_id)
    if not patient.phone or ERASED_TAG in (patient.tags or []):
        messages.error(request, _("This patient has no phone number to write to."))
        return redirect("scheduling:patient_record", patient_id=patient.pk)
    body, error, status = request.POST.get("body", ""), "", 200
    if request.method == "POST":
        try:
            services.message_send(clinic=request.clinic, to=patient.phone, body=body, purpose="console",
                                  actor=request)
        except MessageDeliveryFailed as failure:
            messages.error(request, failure.message)
            return redirect("scheduling:patient_record", patient_id=patient.pk)
        except DomainError as refusal:
            if not refusal.details:
                messages.error(request, refusal.message)
                return redirect("scheduling:patient_record", patient_id=patient.pk)
            error, status = refusal.message, 400  # the text is empty or too long: shown on the form
        else:
            messages.success(request, _("Message sent."))
            return redirect("scheduling:patient_record", patient_id=patient.pk)
    if request.method == "GET":  # the form shows the patient's name and phone
        audit.record(request, "patient.read", "patient", patient.hash, _("console message form"),
                     clinic=request.clinic)
    return render(request, "telephony/patient_message.html", {
        "patient": patient, "body": body, "error": error, "max_length": MAX_BODY_LENGTH}, status=status)
