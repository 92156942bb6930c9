"""OpenAPI generation that knows the surfaces: one operation id and tag namespace per surface, so the same
domain view mounted on /v1 and /api/v1 yields two distinct, well-named operations."""
from drf_spectacular.openapi import AutoSchema

TAG_PREFIX = {"v1": "Clinic API v1", "dashboard": "Dashboard API", "voice": "Voice & messaging API",
              "notes": "Notes API", "public": "Public pages"}


class SurfaceAutoSchema(AutoSchema):
    def get_operation_id(self):
        operation_id = super().get_operation_id()
        surface = getattr(self.view, "surface", None)
        return f"{surface.name}_{operation_id}" if surface else operation_id

    def get_tags(self):
        tags = super().get_tags()
        surface = getattr(self.view, "surface", None)
        if surface is None or surface.name not in TAG_PREFIX:
            return tags
        return [f"{TAG_PREFIX[surface.name]} · {tag}" for tag in tags]
