"""Engagement on the API surfaces: triage links and dashboard stats on /v1, follow-up tasks on the voice API."""
import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from clinics.api.permissions import HasClinicScope
from config.surfaces.tenancy import ClinicScopedMixin
from config.surfaces import V1, VOICE
from scheduling import patients

from .. import selectors, services
from ..models import Task
from . import serializers


def parse_moment(value, name, *, end_of_day=False, zone=None):
    """An ISO 8601 date or datetime query parameter as an aware datetime; ValidationError naming it."""
    if value in (None, ""):
        return None
    if len(value) > 40:
        raise ValidationError({name: [_("Use an ISO 8601 date or date-time.")]})
    try:
        moment = parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        try:
            day = parse_date(value)
        except ValueError:
            day = None
        if day is None:
            raise ValidationError({name: [_("Use an ISO 8601 date or date-time.")]})
        try:
            moment = dt.datetime.combine(day + dt.timedelta(days=1) if end_of_day else day, dt.time())
        except OverflowError:
            raise ValidationError({name: [_("Use an ISO 8601 date or date-time.")]})
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, zone or dt.timezone.utc)
    return moment


class TriageSendV1(V1.view, ClinicScopedMixin, APIView):
    """POST /v1/appointments/:id/triage/send: text the patient a single-use link to the triage form."""

    @extend_schema(request=None, responses={201: serializers.TriageSentSerializer})
    def post(self, request, appointment_id):
        link, message = services.triage_link_send(clinic=self.clinic, appointment=appointment_id, actor=request)
        body = serializers.TriageSentSerializer({
            "appointment_id": link.appointment_id, "link_id": link.id, "message_id": message.id,
            "status": message.status, "expires_at": link.expires_at}).data
        return Response(body, status=status.HTTP_201_CREATED)


class DashboardStatsV1(V1.view, APIView):
    """GET /v1/dashboard/stats?from=&to=: calls, bookings, conversion, NPS, no-shows (default: last 30 days)."""

    permission_classes = [HasClinicScope]

    @extend_schema(parameters=[OpenApiParameter("from", str, required=False),
                               OpenApiParameter("to", str, required=False)],
                   responses={200: serializers.DashboardStatsSerializer})
    def get(self, request):
        clinic = request.auth.clinic
        zone = ZoneInfo(clinic.timezone or "UTC")
        end = parse_moment(request.query_params.get("to"), "to", end_of_day=True, zone=zone) or timezone.now()
        start = parse_moment(request.query_params.get("from"), "from", zone=zone) or end - dt.timedelta(days=30)
        if start >= end:
            raise ValidationError({"from": [_("Must be before 'to'.")]})
        if end - start > dt.timedelta(days=366):
            raise ValidationError({"from": [_("The period can be at most one year.")]})
        return Response(selectors.dashboard_stats(clinic, start, end))


class TaskVoiceListCreate(VOICE.view, ClinicScopedMixin, generics.ListCreateAPIView):
    """GET /api/v1/tasks (filters status, due_before, assignee; page/per_page); POST creates a follow-up."""

    serializer_class = serializers.TaskSerializer
    queryset = Task.objects.all()

    def get_queryset(self):
        params = self.request.query_params
        status_filter = params.get("status") or None
        if status_filter and status_filter not in Task.Status.values:
            raise ValidationError({"status": [_("Must be one of: %(choices)s.")
                                              % {"choices": ", ".join(Task.Status.values)}]})
        due_before = parse_moment(params.get("due_before") or params.get("dueBefore"), "due_before")
        assignee = params.get("assignee") or None
        if assignee and assignee != Task.PHONE_AGENT:
            try:
                assignee = str(uuid.UUID(assignee))
            except ValueError:
                raise ValidationError({"assignee": [_("Use a member id or \"phone_agent\".")]})
        return selectors.tasks_for(self.clinic, status=status_filter, due_before=due_before,
                                   assignee=assignee).order_by("due_at", "created_at", "id")

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "clinic": self.clinic}

    def paginate_queryset(self, queryset):
        page = super().paginate_queryset(queryset)
        rows = list(page) if page is not None else list(queryset)
        services.task_list_record(clinic=self.clinic, tasks=rows, actor=self.request,
                                  purpose=patients.purpose_of(self.request))
        return page if page is not None else rows

    @extend_schema(request=serializers.TaskSerializer, responses={201: serializers.TaskSerializer})
    def post(self, request, *args, **kwargs):
        payload = serializers.TaskSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        task = services.task_create(clinic=self.clinic, actor=request, **data)
        response = Response(serializers.TaskSerializer(task, context=self.get_serializer_context()).data,
                            status=status.HTTP_201_CREATED)
        response.message = _("Task created")
        return response
