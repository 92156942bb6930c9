"""One way to scope rows to a clinic: every clinic-owned model derives from `ClinicOwned`, and every edge (API
viewsets, console views, Django admin, selectors) narrows a queryset with `.for_clinic(clinic)`. Another
clinic's object simply does not exist there (404)."""
import uuid

from django.db import models


class ClinicQuerySet(models.QuerySet):
    """Querysets of clinic-owned rows."""

    def for_clinic(self, clinic):
        """Only the rows of `clinic` (a Clinic or its primary key); none at all for no clinic."""
        if clinic is None:
            return self.none()
        return self.filter(**{self.model.clinic_lookup: clinic})

    def find(self, clinic, value):
        """The row of `clinic` that `value` names (a row, or its primary key as given, even malformed), or None:
        another clinic's row and an id that is no uuid are not found alike."""
        try:
            pk = uuid.UUID(str(getattr(value, "pk", value)))
        except ValueError:
            return None
        return self.for_clinic(clinic).filter(pk=pk).first()

    def for_clinics(self, clinics):
        """Only the rows of any of `clinics` (Clinics or primary keys): a support user's clinics in the admin."""
        keys = [getattr(clinic, "pk", clinic) for clinic in clinics]
        return self.filter(**{f"{self.model.clinic_lookup}__in": keys})


class ClinicOwned(models.Model):
    """Abstract base of every model that belongs to one clinic.

    `clinic_lookup` is the path from the row to its clinic: "clinic" where the model holds the foreign key,
    e.g. "professional__clinic" for a row owned through its parent.
    """

    clinic_lookup = "clinic"

    objects = ClinicQuerySet.as_manager()

    class Meta:
        abstract = True

    def belongs_to(self, clinic) -> bool:
        """True when this row is `clinic`'s (compares keys, no query where the key is on the row)."""
        clinic_id = getattr(clinic, "pk", clinic)
        if self.clinic_lookup == "clinic":
            return self.clinic_id == clinic_id
        return type(self).objects.for_clinic(clinic_id).filter(pk=self.pk).exists()
