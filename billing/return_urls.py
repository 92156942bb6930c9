"""Where Stripe Checkout and the Customer Portal send the admin back: the console's billing page."""
from django.conf import settings
from django.urls import NoReverseMatch, reverse


def console_url(query: str = "") -> str:
    """The console billing page (absolute, on SITE_URL), with `query` appended."""
    try:
        path = reverse("billing:index")
    except NoReverseMatch:  # the console is not mounted (API-only deployment)
        path = "/"
    return settings.SITE_URL.rstrip("/") + path + query
