"""Routes of the knowledge app on the v1 surface (docs/api/clinic-v1.md)."""
from django.urls import path

from config.surfaces import V1

from . import views


class ChunksV1(V1.view, views.ChunkListView):
    pass


class ChunkV1(V1.view, views.ChunkDetailView):
    pass


urlpatterns = [
    path("knowledge", ChunksV1.as_view(), name="v1-knowledge"),
    path("knowledge/<uuid:pk>", ChunkV1.as_view(), name="v1-knowledge-chunk"),
]
