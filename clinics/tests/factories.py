import factory
from factory.django import DjangoModelFactory

from clinics.models import ApiKey, Clinic, Membership, User


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@clinic.test")
    username = factory.SelfAttribute("email")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery-staple")

    @factory.post_generation
    def persist(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class ClinicFactory(DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clínica {n}")
    slug = factory.Sequence(lambda n: f"clinica-{n}")
    timezone = "Europe/Lisbon"
    phone = "+351210000000"


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    clinic = factory.SubFactory(ClinicFactory)
    user = factory.SubFactory(UserFactory)
    role = Membership.Role.ADMIN


def issue_key(clinic, permissions=ApiKey.FULL_ACCESS, **kwargs):
    """A usable API key for `clinic`; returns the raw key string."""
    _key, raw = ApiKey.issue(clinic, kwargs.pop("name", "test key"), permissions=permissions, **kwargs)
    return raw


def sign_in_verified(client, user):
    """Sign `user` into the console with a confirmed TOTP device, as after the second login step."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    client.force_login(user)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="phone", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
