"""Stripe's webhook: `POST /api/webhooks/stripe`.

Authenticated by the `Stripe-Signature` alone (v1 HMAC-SHA256 of `t.payload` under STRIPE_WEBHOOK_SECRET, at
most 300 s old); a missing or wrong signature answers 400 `{"detail", "code"}`, the detail saying which. Without a
usable STRIPE_WEBHOOK_SECRET (unset, or the published development secret outside development) every delivery answers
503 WEBHOOK_NOT_CONFIGURED and is logged as an error: the fault is this server's, not the sender's, and a 5xx is
what monitoring alerts on; Stripe keeps retrying until the secret is set. Never rate limited
(clinics/api/throttles.py exempts /api/webhooks/).

dj-stripe checks the signature and stores the delivery (`WebhookEventTrigger`) and the event (`Event`); see
billing/stripe_records.py. Every verified event is stored before it is processed. The answer is 2xx whenever the
event is stored:
- 200 when it is applied, or was already (a replay of the same event id changes nothing);
- 202 when it is stored but could not be applied (its error is kept on the StripeEvent): Stripe would otherwise
  retry blindly for three days, while we already hold the event and replay it with
  `manage.py replay_stripe_events --failed` once the cause is fixed. A later delivery of the same event is
  processed again, too.
Only a failure to store answers 5xx, and then Stripe's retry is exactly what we want.
"""
import logging

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import services
from .backends.payments import InvalidSignature, MissingSignature, WebhookNotConfigured

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def stripe_webhook(request):
    try:
        event, duplicate = services.stripe_webhook_receive(payload=request.body,
                                                           signature=request.headers.get("Stripe-Signature"),
                                                           remote_ip=request.META.get("REMOTE_ADDR") or "0.0.0.0")
    except WebhookNotConfigured as exc:
        logger.error("Stripe webhook refused: %s (manage.py check --deploy flags it).", exc)
        return JsonResponse({"detail": _("Stripe webhooks are refused: STRIPE_WEBHOOK_SECRET on this server is not "
                                         "set, or is the development secret published with Frontdesk."),
                             "code": "WEBHOOK_NOT_CONFIGURED"}, status=503)
    except MissingSignature as exc:
        logger.info("Stripe webhook refused: %s", exc)
        return JsonResponse({"detail": _("The Stripe-Signature header is missing."), "code": "INVALID_SIGNATURE"},
                            status=400)
    except InvalidSignature as exc:
        logger.info("Stripe webhook refused: %s", exc)
        return JsonResponse({"detail": _("Invalid Stripe signature."), "code": "INVALID_SIGNATURE"}, status=400)
    processed = event.processed_at is not None
    body = {"received": True, "id": event.stripe_id, "type": event.type, "processed": processed,
            "duplicate": duplicate}
    if not processed:
        body["error"] = event.error
    return JsonResponse(body, status=200 if processed else 202)
