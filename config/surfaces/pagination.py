"""The pagination styles of the surfaces: keyset cursors for /v1, page numbers for the others."""
import base64
import datetime
import json
import math
import uuid

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response


def _int_param(request, name, default, maximum):
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [_("Must be a positive integer.")]})
    if value < 1:
        raise ValidationError({name: [_("Must be a positive integer.")]})
    return min(value, maximum) if maximum else value


# Our cursors are a few sort keys in base64 JSON, well under this; a longer one is not ours.
MAX_CURSOR_CHARS = 1024


def _field_value(model, name: str, value):
    """`value` as the model field `name` holds it, checked by the field's validators (an integer's range)."""
    if model is None:
        return parse_datetime(value) if isinstance(value, str) and name != "id" and parse_datetime(value) else value
    field = model._meta.get_field(name)
    value = field.to_python(value)
    field.run_validators(value)
    if isinstance(value, datetime.datetime):
        value.astimezone(datetime.timezone.utc)  # at the calendar's edge there is no UTC instant: OverflowError
    return value


class KeysetCursorPagination(pagination.BasePagination):
    """`{"items", "nextCursor", "hasMore"}`; the cursor holds the last row's sort key, never an OFFSET.

    A view sets `cursor_fields = (("startsAt", "starts_at"), ("id", "id"))`: the API name and the model field
    of each sort key, the last being unique; `-created_at` walks that key newest first. The view's queryset need
    not be ordered.
    """

    default_limit = 50
    max_limit = 200

    def _fields(self, view):
        return getattr(view, "cursor_fields", (("createdAt", "created_at"), ("id", "id")))

    def paginate_queryset(self, queryset, request, view=None):
        fields = self._fields(view)
        self.fields = fields
        self.limit = _int_param(request, "limit", self.default_limit, self.max_limit)
        queryset = queryset.order_by(*[model_field for _name, model_field in fields])  # "-x" is descending
        cursor = request.query_params.get("cursor")
        if cursor:
            queryset = queryset.filter(self._after(self._decode(cursor, fields, queryset.model), fields))
        rows = list(queryset[: self.limit + 1])
        self.has_more = len(rows) > self.limit
        rows = rows[: self.limit]
        self.next_cursor = self._encode(rows[-1], fields) if self.has_more else None
        return rows

    def get_paginated_response(self, data):
        response = Response({"items": data, "nextCursor": self.next_cursor, "hasMore": self.has_more})
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "required": ["items", "nextCursor", "hasMore"], "properties": {
            "items": schema, "nextCursor": {"type": "string", "nullable": True}, "hasMore": {"type": "boolean"}}}

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "cursor", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "nextCursor of the previous page"},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "default": self.default_limit, "maximum": self.max_limit}},
        ]

    @staticmethod
    def _encode(row, fields):
        values = {}
        for name, model_field in fields:
            value = getattr(row, model_field.lstrip("-"))
            if isinstance(value, (datetime.datetime, datetime.date)):
                value = value.isoformat()
            elif isinstance(value, uuid.UUID):
                value = str(value)
            values[name] = value
        return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")

    @staticmethod
    def _decode(cursor, fields, model=None):
        """The sort key a cursor holds, each value made a value of its model field; anything else (not our JSON,
        nested or object values, NUL characters, impossible dates, out-of-range numbers) is a 400 on `cursor`."""
        invalid = ValidationError({"cursor": [_("Invalid cursor.")]})
        if len(cursor) > MAX_CURSOR_CHARS:
            raise invalid
        try:
            values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, TypeError, RecursionError):
            raise invalid
        if not isinstance(values, dict):
            raise invalid
        decoded = []
        for name, model_field in fields:
            value = values.get(name)
            if not isinstance(value, (str, int)) or isinstance(value, bool) or (
                    isinstance(value, str) and "\x00" in value):
                raise invalid
            try:
                value = _field_value(model, model_field.lstrip("-"), value)
            except (DjangoValidationError, ValueError, TypeError, OverflowError):
                raise invalid
            decoded.append((model_field, value))
        return decoded

    @staticmethod
    def _after(decoded, fields):
        # (a, b, c) > (x, y, z) written as OR of prefixes, so PostgreSQL can use the composite index;
        # a descending key ("-a") compares with < instead.
        condition = Q()
        for index, (model_field, value) in enumerate(decoded):
            lookup = "lt" if model_field.startswith("-") else "gt"
            step = Q(**{f"{model_field.lstrip('-')}__{lookup}": value})
            for prior_field, prior_value in decoded[:index]:
                step &= Q(**{prior_field.lstrip("-"): prior_value})
            condition |= step
        return condition


class PageNumberPagination(pagination.BasePagination):
    """`page` plus a size parameter; subclasses shape the body."""

    size_param = "per_page"
    default_size = 20
    max_size = 100

    def paginate_queryset(self, queryset, request, view=None):
        self.page = _int_param(request, "page", 1, None)
        self.size = _int_param(request, self.size_param, self.default_size, self.max_size)
        self.total = queryset.count()
        self.view = view
        start = (self.page - 1) * self.size
        if start >= self.total:
            return []  # past the end (and no OFFSET beyond what PostgreSQL's bigint holds)
        return list(queryset[start: start + self.size])

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "in": "query", "required": False, "schema": {"type": "integer", "default": 1}},
            {"name": self.size_param, "in": "query", "required": False,
             "schema": {"type": "integer", "default": self.default_size, "maximum": self.max_size}},
        ]


class DashboardPagination(PageNumberPagination):
    """`{"total", "page", "per_page", "<results_key>": [...]}` as the dashboard API documents."""

    def get_paginated_response(self, data):
        key = getattr(self.view, "results_key", "items")
        response = Response({"total": self.total, "page": self.page, "per_page": self.size, key: data})
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
            "items": schema}}


class VoicePagination(PageNumberPagination):
    """`{"success", "message", "data": [...], "meta": {page, per_page, total}}`."""

    def get_paginated_response(self, data):
        response = Response({"success": True, "message": "OK", "data": data,
                             "meta": {"total": self.total, "page": self.page, "per_page": self.size}})
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "properties": {
            "success": {"type": "boolean"}, "message": {"type": "string"}, "data": schema,
            "meta": {"type": "object"}}}


class NotesPagination(PageNumberPagination):
    """`{"data": [...], "meta": {total, page, limit, total_pages}}` (default 10, max 100)."""

    size_param = "limit"
    default_size = 10

    def get_paginated_response(self, data):
        response = Response({"data": data, "meta": {
            "total": self.total, "page": self.page, "limit": self.size,
            "total_pages": math.ceil(self.total / self.size) if self.total else 0}})
        response.enveloped = True
        return response

    def get_paginated_response_schema(self, schema):
        return {"type": "object", "properties": {"data": schema, "meta": {"type": "object", "properties": {
            "total": {"type": "integer"}, "page": {"type": "integer"}, "limit": {"type": "integer"},
            "total_pages": {"type": "integer"}}}}}
