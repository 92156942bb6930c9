"""The public pages a patient opens from an SMS: the triage form, the feedback form and the confirmation of a
marketing consent given on the booking page.

No login: the token in the URL is the credential. A forged token answers 404, an expired or spent one 410, each
with a page that says so plainly.
"""
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from clinics.errors import DomainError, NotFound
from scheduling.services import CONSENT_ALREADY_GIVEN, CONSENT_CONFIRMED, CONSENT_DECLINED

from . import marketing_opt_in, selectors, services
from .models import PatientLink

# A little over what the services keep, so that an over-long answer is refused, not silently cut.
MAX_ANSWER_LENGTH = 2001
MAX_COMMENT_LENGTH = 2000

STATE_PAGES = {
    "unknown": (404, gettext_lazy("This link is not valid"),
                gettext_lazy("Please check that you opened the whole link from the message.")),
    "expired": (410, gettext_lazy("This link has expired"),
                gettext_lazy("Please contact the clinic if you still want to answer.")),
    "used": (410, gettext_lazy("This form was already answered"),
             gettext_lazy("Thank you: the clinic has your answers.")),
}


def _state_page(request, state, pages=STATE_PAGES):
    status, title, text = pages[state]
    return render(request, "campaigns/public/link_state.html",
                  {"title": title, "text": text, "state": state}, status=status)


def _language_of(link):
    return link.appointment.clinic.locale if link is not None else translation.get_language()


def _lookup_or_page(request, token, kind):
    lookup = services.open_link(token, kind)
    if lookup.state != "valid":
        with translation.override(_language_of(lookup.link)):
            return None, _state_page(request, lookup.state)
    return lookup.link, None


@never_cache
@require_http_methods(["GET", "POST"])
def triage(request, token):
    """GET: the clinic's triage questions for the appointment; POST: store the answers once."""
    link, page = _lookup_or_page(request, token, PatientLink.Kind.TRIAGE)
    if page is not None:
        return page
    appointment = link.appointment
    with translation.override(appointment.clinic.locale):
        questions = selectors.questions_for(appointment)
        errors, submitted = {}, {}
        if request.method == "POST":
            submitted = {str(q["id"]): request.POST.get(f"q_{q['id']}", "")[:MAX_ANSWER_LENGTH] for q in questions}
            try:
                services.triage_submit(link=link, submitted=submitted)
            except DomainError as exc:
                errors = exc.details
            except services.LinkNotUsable as exc:
                return _state_page(request, exc.state)
            else:
                return render(request, "campaigns/public/thanks.html", {
                    "clinic": appointment.clinic, "text": _("Your answers were sent to the clinic.")})
        rows = [{**q, "value": submitted.get(str(q["id"]), ""), "error": errors.get(str(q["id"]))}
                for q in questions]
        return render(request, "campaigns/public/triage.html", {
            "clinic": appointment.clinic, "appointment": appointment, "questions": rows,
            "scale": range(11), "has_errors": bool(errors)}, status=400 if errors else 200)


@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request, token):
    """GET: the 0–10 question and a comment box; POST: store the score once."""
    link, page = _lookup_or_page(request, token, PatientLink.Kind.FEEDBACK)
    if page is not None:
        return page
    appointment = link.appointment
    with translation.override(appointment.clinic.locale):
        error = ""
        if request.method == "POST":
            try:
                services.feedback_submit(link=link, score=request.POST.get("score"),
                                         comment=request.POST.get("comment", "")[:MAX_COMMENT_LENGTH])
            except DomainError as exc:
                error = exc.message
            except services.LinkNotUsable as exc:
                return _state_page(request, exc.state)
            else:
                return render(request, "campaigns/public/thanks.html", {
                    "clinic": appointment.clinic, "text": _("Thank you for your feedback.")})
        return render(request, "campaigns/public/feedback.html", {
            "clinic": appointment.clinic, "appointment": appointment, "scores": range(11), "error": error,
            "comment": request.POST.get("comment", "")[:MAX_COMMENT_LENGTH]}, status=400 if error else 200)


MARKETING_STATE_PAGES = {
    "unknown": STATE_PAGES["unknown"],
    "expired": (410, gettext_lazy("This link has expired"),
                gettext_lazy("You will not receive news and offers by SMS. Ask the clinic if you want them.")),
    "closed": (410, gettext_lazy("This request was already answered"),
               gettext_lazy("Please contact the clinic to change your choice.")),
}


@never_cache
@require_http_methods(["GET", "POST"])
def marketing_consent(request, token):
    """GET: the clinic's name and two buttons, confirm or no thanks; POST `action=confirm|decline`: the patient's
    answer to the marketing consent given on the booking page (campaigns/marketing_opt_in.py), audited."""
    try:
        opt_in = marketing_opt_in.opt_in_request_of(token)
    except marketing_opt_in.TokenExpired:
        return _state_page(request, "expired", MARKETING_STATE_PAGES)
    except marketing_opt_in.TokenInvalid:
        return _state_page(request, "unknown", MARKETING_STATE_PAGES)
    clinic = opt_in.clinic
    with translation.override(clinic.locale):
        if request.method == "GET":
            return render(request, "campaigns/public/marketing_consent.html", {"clinic": clinic})
        action = request.POST.get("action")
        if action not in ("confirm", "decline"):
            return render(request, "campaigns/public/marketing_consent.html",
                          {"clinic": clinic, "error": _("Choose one of the two buttons.")}, status=400)
        try:
            outcome = marketing_opt_in.opt_in_answer(request=opt_in, accepted=action == "confirm", actor=request)
        except NotFound:
            return _state_page(request, "unknown", MARKETING_STATE_PAGES)
        texts = {
            CONSENT_CONFIRMED: _("You will receive news and offers from %(clinic)s by SMS. You can stop them at any "
                                 "time by telling the clinic."),
            CONSENT_ALREADY_GIVEN: _("You had already confirmed: you receive news and offers from %(clinic)s by SMS. "
                                     "Tell the clinic if you want to stop them."),
            CONSENT_DECLINED: _("You will not receive news and offers from %(clinic)s by SMS."),
        }
        if outcome not in texts:
            return _state_page(request, "closed", MARKETING_STATE_PAGES)
        return render(request, "campaigns/public/thanks.html", {
            "clinic": clinic, "outcome": outcome, "text": texts[outcome] % {"clinic": clinic.name}})
