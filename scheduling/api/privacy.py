"""How personal data leaves through the API, written once for every route that returns it (calls,
transcriptions, conversations, appointments, patients and contacts):

- `PiiSerializerMixin` masks the fields a serializer lists in `pii_fields` unless the caller may read personal
  data (`scheduling.patients.can_read_pii`): names and phones keep their initials and ends, the rest is blanked;
- `PiiReadMixin` (a view mixin) gives serializers that answer and writes one audit row per response that carried
  such objects, listing their ids (docs/api/clinic-v1.md, Patients: "every read of personal data is audited").
"""
from clinics.audit import record
from scheduling import patients


def _blank(value):
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {}
    return ""


def _none(value):
    return None


# What each kind of personal field shows a caller who may not read it.
MASKS = {"name": patients.mask_name, "phone": patients.mask_phone, "email": patients.mask_email,
         "blank": _blank, "none": _none}


class PiiSerializerMixin:
    """A serializer whose `pii_fields` ({output field: "name" | "phone" | "email" | "blank" | "none"}) are masked
    unless its context says `full_pii`; each object it represents is noted in the context's `pii_read` list (by
    its `pii_id` attribute) for the view to audit. Without a context it masks: the safe default."""

    pii_fields: dict[str, str] = {}
    pii_id = "pk"

    def to_representation(self, instance):
        data = super().to_representation(instance)
        read = self.context.get("pii_read")
        if read is not None:
            read.append(str(getattr(instance, self.pii_id)))
        if not self.context.get("full_pii", False):
            for field, kind in self.pii_fields.items():
                if field in data and data[field] not in (None, "", [], {}):
                    data[field] = MASKS[kind](data[field])
        return data


class PiiReadMixin:
    """A view whose serializers carry personal data: they learn whether the caller may read it, and a successful
    read (GET) that carried any writes one audit row `<pii_object>.read` with the ids read, the declared purpose
    (`X-Purpose`) and whether they were masked. A write's answer is covered by the write's own audit row."""

    pii_object = ""

    def get_serializer_context(self):
        if not hasattr(self, "_pii_read"):
            self._pii_read = []
        return {**super().get_serializer_context(), "full_pii": patients.can_read_pii(self.request.auth),
                "pii_read": self._pii_read}

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        ids = list(dict.fromkeys(getattr(self, "_pii_read", [])))
        if ids and request.method in ("GET", "HEAD") and response.status_code < 400:
            self._pii_read = []
            record(request, f"{self.pii_object}.read", self.pii_object, ids[0] if len(ids) == 1 else "",
                   patients.purpose_of(request), clinic=request.auth.clinic, ids=ids,
                   masked=not patients.can_read_pii(request.auth))
        return response
