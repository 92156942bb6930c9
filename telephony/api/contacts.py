"""Contacts on the voice API (docs/api/voice.md, Contacts): the clinic's patients and leads.

GET lists them as scheduling shows patients; POST is the `contact_upsert` use case: a new phone answers 201
(`Contact created`), a known phone merges the given name, e-mail and tags into that contact and answers 200
(`Contact updated`, or `Contact already exists` when nothing changed).
"""
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from scheduling import patients
from scheduling.api.patients import ContactVoiceListCreate as PatientContactList
from telephony import services


class ContactUpsertSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=services.MAX_TAG_LENGTH), required=False,
                                 default=list, max_length=services.MAX_TAGS)


class ContactVoiceListCreate(PatientContactList):
    """GET /api/v1/contacts lists contacts (search, page/per_page); POST adds one or merges into the contact with
    the same phone."""

    @extend_schema(request=ContactUpsertSerializer,
                   responses={200: PatientContactList.serializer_class, 201: PatientContactList.serializer_class})
    def post(self, request, *args, **kwargs):
        payload = ContactUpsertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        patient, created, changed = services.contact_upsert(
            clinic=self.clinic, phone=data["phone"], name=data["name"], email=data.get("email", ""), tags=data["tags"],
            actor=request)
        patient = patients.patients_for(self.clinic).get(pk=patient.pk)
        response = Response(self.get_serializer(patient).data,
                            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
        response.message = (_("Contact created") if created else _("Contact updated") if changed
                            else _("Contact already exists"))
        return response
