"""Provider backends: one registry entry per external capability, the backend picked by `settings.PROVIDERS`.

    SMS = Capability("sms", {"local": "telephony.backends.sms.LocalSMSBackend", ...})
    SMS.backend().send(message)

The domain imports a capability, never a vendor SDK. `local` backends work offline and are the default.
"""
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string


class Capability:
    """A named capability and the dotted paths of the backends that can provide it."""

    def __init__(self, name: str, backends: dict[str, str]):
        self.name = name
        self.backends = dict(backends)
        self._cache: dict[str, object] = {}

    @property
    def choice(self) -> str:
        choices = getattr(settings, "PROVIDERS", {}) or {}
        return choices.get(self.name) or "local"

    def backend_class(self, choice: str | None = None):
        choice = choice or self.choice
        try:
            dotted_path = self.backends[choice]
        except KeyError:
            raise ImproperlyConfigured(
                f"PROVIDERS[{self.name!r}] = {choice!r}; expected one of {sorted(self.backends)}")
        return import_string(dotted_path)

    def backend(self):
        """The configured backend instance; cached per setting value, so switching the setting switches it."""
        choice = self.choice
        if choice not in self._cache:
            self._cache[choice] = self.backend_class(choice)()
        return self._cache[choice]

    def reset(self):
        """Forget cached instances (a backend that read credentials at construction reads them again)."""
        self._cache.clear()

    def __repr__(self):
        return f"Capability({self.name!r}, {sorted(self.backends)})"


REGISTRY: dict[str, Capability] = {}


def register(capability: Capability) -> Capability:
    REGISTRY[capability.name] = capability
    return capability


SMS = register(Capability("sms", {
    "local": "telephony.backends.sms.LocalSMSBackend",
    "twilio": "telephony.backends.sms.TwilioSMSBackend",
}))
