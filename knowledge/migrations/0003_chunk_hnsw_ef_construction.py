"""The chunks' HNSW index rebuilt with ef_construction=200 (was 64; m stays 16), without blocking the knowledge base.

At 100,000 chunks the ef_construction=64 graph left some queries 0/10 of their true nearest chunks at any
hnsw.ef_search, and its recall@10 at ef_search 300 moved between 0.967 and 0.990 from one build to the next; built
with 200 it gave 0.989 at 200 in three builds, no query below 8/10 (bench/knowledge_search.py). The build takes about
3x longer (31 s -> 90-117 s at 100,000 chunks on 2 shared cores) and each chunk's insert costs more, on the worker
that embeds. A build is much faster when the graph fits in `maintenance_work_mem` (about 300 MB per 100,000 chunks).

The new index is built CONCURRENTLY beside the old one, the old one dropped CONCURRENTLY and the new one renamed:
searches keep their index throughout (hence not atomic).
"""
import pgvector.django.indexes
from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("knowledge", "0002_file_parse_status"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="knowledgechunk",
            index=pgvector.django.indexes.HnswIndex(ef_construction=200, fields=["embedding"], m=16,
                                                    name="knowledge_chunk_hnsw_rebuilt",
                                                    opclasses=["vector_cosine_ops"]),
        ),
        RemoveIndexConcurrently(model_name="knowledgechunk", name="knowledge_chunk_embedding_hnsw"),
        migrations.RenameIndex(model_name="knowledgechunk", new_name="knowledge_chunk_embedding_hnsw",
                               old_name="knowledge_chunk_hnsw_rebuilt"),
    ]
