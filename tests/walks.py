"""What the route walks share (tests/test_tenancy_walk.py, tests/test_console_tenancy_walk.py,
tests/test_pii_audit_walk.py): every route of the URL resolver, a route filled with an object's ids, snapshots of
the objects a walk must leave unchanged, and the objects of one clinic that routes take by id.

An object route's factory takes clinic A and returns `(URL kwargs, objects behind them)`; `by(kwarg, make)` builds
one from a maker of this module, so each walk names only the URL parameter its surface uses."""
import datetime as dt
import re

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

API_PREFIXES = ("v1/", "api/", "api/v1/", "notes/v1/")
ADMIN_PREFIX = "admin/"  # Django admin: clinics/tests/test_admin_scoping.py


def routes():
    """(route, pattern) for every URL of the project, in resolver order, the route as the resolver spells it."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern

    return list(walk(get_resolver().url_patterns))


def fill(route, kwargs):
    """The path of `route` with its parameters taken from `kwargs` (regex routes lose their anchors)."""

    def value(match):
        return str(kwargs[match.group("name")])

    url = re.sub(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>", value, route)
    return "/" + url.replace("^", "").replace("/?$", "/").replace("$", "")


def snapshot(objects):
    """What each object is now, to compare after the walk."""
    return [(type(obj), obj.pk, type(obj).objects.filter(pk=obj.pk).values().first()) for obj in objects]


def changed(before):
    """The objects of a `snapshot` that were changed or deleted since."""
    return [f"{model.__name__} {pk}" for model, pk, values in before
            if model.objects.filter(pk=pk).values().first() != values]


def by(kwarg, make, attribute="pk"):
    """An object route's factory: clinic A -> ({kwarg: the made object's attribute}, [the objects made])."""

    def factory(clinic):
        made = make(clinic)
        objects = made if isinstance(made, list) else [made]
        return {kwarg: getattr(objects[0], attribute)}, objects

    factory.__name__ = f"{make.__name__}_by_{kwarg}"
    return factory


# --- Makers: one object of clinic A (or a list, the routed one first).

def professional(clinic):
    from scheduling.tests.factories import ProfessionalFactory

    return ProfessionalFactory(clinic=clinic)


def service(clinic):
    from scheduling.tests.factories import ServiceFactory

    return ServiceFactory(clinic=clinic)


def appointment(clinic):
    from scheduling.tests.factories import AppointmentFactory, ProfessionalFactory

    starts_at = (timezone.now() + dt.timedelta(days=3)).replace(hour=10, minute=0, second=0, microsecond=0)
    return AppointmentFactory(professional=ProfessionalFactory(clinic=clinic), starts_at=starts_at)


def patient(clinic):
    from scheduling.tests.factories import PatientFactory

    return PatientFactory(clinic=clinic)


def patient_import(clinic):
    from scheduling import imports

    return imports.patient_import_create(clinic=clinic, content="name,phone\nAna Walk,+351912000111\n",
                                         filename="walk.csv", start=False)


def call(clinic):
    from telephony.tests.factories import CallFactory

    return CallFactory(clinic=clinic)


def note(clinic):
    from notes.tests.factories import NoteFactory

    return NoteFactory(clinic=clinic)


def campaign(clinic):
    from campaigns.models import Campaign

    return Campaign.objects.create(clinic=clinic, name="Walk campaign", message="Olá {name}",
                                   status=Campaign.Status.SENDING)


def task(clinic):
    from campaigns.tests.factories import TaskFactory

    return TaskFactory(clinic=clinic)


def knowledge_chunk(clinic):
    from knowledge.tests.factories import KnowledgeChunkFactory

    return KnowledgeChunkFactory(clinic=clinic)


def knowledge_file(clinic):
    """The file and one chunk of it (deleting the file must not reach the chunk of another clinic's file)."""
    from knowledge.tests.factories import KnowledgeChunkFactory, KnowledgeFileFactory

    document = KnowledgeFileFactory(clinic=clinic)
    return [document, KnowledgeChunkFactory(clinic=clinic, file=document)]


def member(clinic):
    from clinics.models import Membership
    from clinics.tests.factories import MembershipFactory

    return MembershipFactory(clinic=clinic, role=Membership.Role.EDITOR)


def api_key(clinic):
    from clinics.models import ApiKey

    key, _raw = ApiKey.issue(clinic, "walk key")
    return key


def referral(clinic):
    from scheduling.tests.factories import PatientFactory, ProfessionalFactory
    from telephony.models import Referral

    return Referral.objects.create(clinic=clinic, requesting_professional=ProfessionalFactory(clinic=clinic),
                                   specialist=ProfessionalFactory(clinic=clinic),
                                   patient=PatientFactory(clinic=clinic), reason="Walk referral")
