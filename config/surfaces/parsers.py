"""The JSON request parser of every surface: DRF's, except that a body nested deeper than Python's recursion limit
(`[[[[…]]]]`, a few hundred kilobytes) is a malformed request (400 in the surface's error body), not a 500."""
from django.utils.translation import gettext as _
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SurfaceJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(_("JSON parse error - the body is nested too deeply."))
