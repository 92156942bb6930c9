"""`manage.py demo_login`: what a human needs to sign in to the demo, including the current two-factor code."""
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse
from django_otp.oath import TOTP

from .seed_demo import DEMO_ADMIN_EMAIL, DEMO_DEVICE_NAME, DEMO_PASSWORD


def current_code(device, at=None):
    """The code a TOTP device accepts now (or at the Unix time `at`), as the authenticator app shows it."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at if at is not None else time.time()
    return f"{totp.token():0{device.digits}d}"


class Command(BaseCommand):
    help = "Print the demo console URL, e-mail, password, the current TOTP code and the otpauth URL."

    def handle(self, *args, **options):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user__email=DEMO_ADMIN_EMAIL, name=DEMO_DEVICE_NAME, confirmed=True).first()
        if device is None:
            raise CommandError("No demo admin yet: run `manage.py seed_demo` first.")
        remaining = device.step - int(time.time() - device.t0) % device.step
        self.stdout.write(f"Console:   {settings.SITE_URL.rstrip('/')}{reverse('console:login')}")
        self.stdout.write(f"E-mail:    {DEMO_ADMIN_EMAIL}")
        self.stdout.write(f"Password:  {DEMO_PASSWORD}")
        self.stdout.write(f"TOTP code: {current_code(device)} (valid for {remaining}s more; run again for a new one)")
        self.stdout.write(f"otpauth:   {device.config_url}")
