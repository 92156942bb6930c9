"""Newest-first keyset cursors for /v1/calls.

The shared KeysetCursorPagination walks ascending keys only; a call log reads newest first, so this subclass
accepts `-field` in `cursor_fields` and compares with `<` on those keys. (A candidate for config/surfaces.)
"""
from django.db.models import Q

from config.surfaces.pagination import KeysetCursorPagination


def _bare(model_field: str) -> str:
    return model_field.lstrip("-")


class DirectionalKeysetCursorPagination(KeysetCursorPagination):
    @staticmethod
    def _encode(row, fields):
        return KeysetCursorPagination._encode(row, [(name, _bare(field)) for name, field in fields])

    @staticmethod
    def _after(decoded, fields):
        condition = Q()
        for index, (model_field, value) in enumerate(decoded):
            lookup = "lt" if model_field.startswith("-") else "gt"
            step = Q(**{f"{_bare(model_field)}__{lookup}": value})
            for prior_field, prior_value in decoded[:index]:
                step &= Q(**{_bare(prior_field): prior_value})
            condition |= step
        return condition
