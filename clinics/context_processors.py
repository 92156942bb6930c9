"""What every console page needs: the active clinic, the clinics one may switch to, and the navigation."""
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

SESSION_CLINIC_KEY = "clinic_id"

# Pages other apps build later light up as soon as their URL name exists; until then the link is inert.
NAVIGATION = [
    ("home", _("Home"), "console:home"),
    ("agenda", _("Agenda"), "scheduling:agenda"),
    ("patients", _("Patients"), "scheduling:patient_index"),
    ("triage", _("Triage"), "triage:list"),
    ("calls", _("Calls"), "telephony:calls"),
    ("outbox", _("Outbox"), "telephony:outbox"),
    ("notes", _("Notes"), "notes:index"),
    ("knowledge", _("Knowledge"), "knowledge:index"),
    ("campaigns", _("Campaigns"), "campaigns:bulk_list"),
    ("team", _("Team"), "console:team"),
    ("billing", _("Billing"), "billing:index"),
    ("integrations", _("Integrations"), "calendar_sync:integrations"),
    ("api_keys", _("API keys"), "console:api_keys"),
    ("settings", _("Settings"), "console:settings"),
]
ADMIN_ONLY = {"api_keys", "settings", "billing", "integrations"}
# Pages reached from a menu entry that keep it marked as the current one.
ALSO_ACTIVE = {"campaigns": {"campaigns:bulk_detail", "campaigns:index"}}


def memberships_of(request):
    """The signed-in user's memberships with their clinics, by clinic name; cached on the request."""
    if not hasattr(request, "_console_memberships"):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            request._console_memberships = []
        else:
            request._console_memberships = list(user.memberships.select_related("clinic").order_by("clinic__name"))
    return request._console_memberships


def active_membership_for(request):
    """The membership the console acts through: the one chosen in the session, else the first; None for staff."""
    memberships = memberships_of(request)
    chosen = request.session.get(SESSION_CLINIC_KEY) if hasattr(request, "session") else None
    return next((m for m in memberships if str(m.clinic_id) == chosen), memberships[0] if memberships else None)


def _navigation(request):
    current = getattr(getattr(request, "resolver_match", None), "view_name", None)
    membership = active_membership_for(request)
    is_admin = membership is not None and membership.role == "admin"
    items = []
    for key, label, url_name in NAVIGATION:
        if key in ADMIN_ONLY and not is_admin:
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            url = None
        items.append({"key": key, "label": label, "url": url, "active": url_name == current or current in ALSO_ACTIVE.get(key, ())})
    return items


def active_clinic(request):
    """Lazy, so that pages which never show the clinic (such as the 500 page) do not touch the database."""
    membership = SimpleLazyObject(lambda: active_membership_for(request))
    return {
        "active_membership": membership,
        "active_clinic": SimpleLazyObject(lambda: membership.clinic if active_membership_for(request) else None),
        "memberships": SimpleLazyObject(lambda: memberships_of(request)),
        "console_navigation": SimpleLazyObject(lambda: _navigation(request)),
    }
