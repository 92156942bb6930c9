"""`manage.py seed_demo`: a demo clinic anyone can sign in to. Safe to run again; it never duplicates rows.

Other apps add demo data by defining `SEED_STEPS` (a list of callables taking a `DemoSeed`) in `<app>/seed.py`;
they run after the clinic, its people and its API key exist, in INSTALLED_APPS order. The command finds those
modules by name (a registry the installed apps fill), so clinics never imports the apps it seeds.
"""
from dataclasses import dataclass, field
from importlib import import_module, util

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinics.models import ApiKey, Clinic, Membership, User

DEMO_CLINIC = {"slug": "demo", "name": "Clínica Demo", "timezone": "Europe/Lisbon", "locale": "pt-pt",
               "phone": "+351210000000", "email": "demo@frontdesk.local"}
DEMO_ADMIN_EMAIL = "demo@frontdesk.local"
DEMO_VIEWER_EMAIL = "viewer@frontdesk.local"
DEMO_PASSWORD = "demo-frontdesk-2026"
DEMO_API_KEY_NAME = "Demo key"
DEMO_DEVICE_NAME = "Demo authenticator"
# Demo only, and published on purpose (README, `manage.py demo_login`): base32 GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,
# the 20 bytes "12345678901234567890" of RFC 6238's test vectors. Never use a fixed secret for a real account.
DEMO_TOTP_KEY_HEX = "3132333435363738393031323334353637383930"


@dataclass
class DemoSeed:
    """What the seed steps share: the demo clinic, its people, and a place to print what a human needs."""

    clinic: object = None
    admin: object = None
    viewer: object = None
    api_key: object = None
    raw_api_key: str = ""
    notes: list = field(default_factory=list)

    def say(self, line):
        self.notes.append(line)


def seed_clinic(seed):
    values = {k: v for k, v in DEMO_CLINIC.items() if k != "slug"}
    seed.clinic, created = Clinic.objects.get_or_create(slug=DEMO_CLINIC["slug"], defaults=values)
    seed.say(f"Clinic: {seed.clinic.name} ({'created' if created else 'exists'})")


def _user(email, password):
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password)
    elif not user.check_password(password):
        # The demo password is documented; put it back if someone changed it.
        user.set_password(password)
        user.save(update_fields=["password"])
    return user


def seed_people(seed):
    seed.admin = _user(DEMO_ADMIN_EMAIL, DEMO_PASSWORD)
    seed.viewer = _user(DEMO_VIEWER_EMAIL, DEMO_PASSWORD)
    Membership.objects.update_or_create(clinic=seed.clinic, user=seed.admin, defaults={"role": Membership.Role.ADMIN})
    Membership.objects.update_or_create(clinic=seed.clinic, user=seed.viewer,
                                        defaults={"role": Membership.Role.VIEWER})


def seed_two_factor(seed):
    TOTPDevice.objects.update_or_create(
        user=seed.admin, name=DEMO_DEVICE_NAME,
        defaults={"key": DEMO_TOTP_KEY_HEX, "confirmed": True, "step": 30, "t0": 0, "digits": 6},
    )


def seed_api_key(seed):
    seed.api_key = ApiKey.objects.for_clinic(seed.clinic).filter(name=DEMO_API_KEY_NAME, revoked_at__isnull=True).first()
    if seed.api_key is None:
        seed.api_key, seed.raw_api_key = ApiKey.issue(seed.clinic, DEMO_API_KEY_NAME, permissions=ApiKey.FULL_ACCESS,
                                                      created_by=seed.admin)


SEED_STEPS = [seed_clinic, seed_people, seed_two_factor, seed_api_key]


def all_seed_steps():
    """The clinics steps first, then each other installed app's `seed.SEED_STEPS`."""
    steps = list(SEED_STEPS)
    for app_config in apps.get_app_configs():
        module_name = f"{app_config.name}.seed"
        if app_config.name == "clinics" or util.find_spec(module_name) is None:
            continue
        steps.extend(getattr(import_module(module_name), "SEED_STEPS", []))
    return steps


class Command(BaseCommand):
    help = "Create (or bring back) the demo clinic, its admin and viewer, a TOTP device and an API key."

    def handle(self, *args, **options):
        seed = DemoSeed()
        with transaction.atomic():
            for step in all_seed_steps():
                step(seed)
        for line in seed.notes:
            self.stdout.write(line)
        self.stdout.write(f"Admin: {DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD} (two-factor: run `manage.py demo_login`)")
        self.stdout.write(f"Viewer: {DEMO_VIEWER_EMAIL} / {DEMO_PASSWORD}")
        if seed.raw_api_key:
            self.stdout.write(self.style.WARNING(
                f"API key (shown once, only its hash is stored): {seed.raw_api_key}"))
        else:
            self.stdout.write(f"API key: {seed.api_key.preview} exists; its full value was printed when it was made.")
