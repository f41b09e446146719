"""A scratch Django for in-process benchmarks: its own database on the server DATABASE_URL names
(never that database itself), or a SQLite file when no PostgreSQL is configured; files in a temp
folder; production settings otherwise. Not a benchmark (no ``main``)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def drop_or_create(url: str, name: str, *, create: bool) -> str:
    """Drop database ``name`` on the server of ``url`` (and create it afresh); its URL."""
    import psycopg
    from psycopg import sql

    base = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        if create:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return f"{base}/{name}"


@contextmanager
def scratch_django(default_db: str) -> Iterator[Path]:
    """Point the environment at a fresh scratch database (BENCH_DB, default ``default_db``) and a
    temp VAR_DIR, yield that folder, then close connections and drop the database (unless
    BENCH_KEEP_DB=1). Call before ``django.setup()``."""
    url = os.environ.get("DATABASE_URL", "")
    on_postgres = url.startswith(("postgres://", "postgresql://"))
    db_name = os.environ.get("BENCH_DB", default_db)
    workdir = Path(tempfile.mkdtemp(prefix=f"{default_db.replace('_', '-')}-"))
    os.environ["DATABASE_URL"] = (
        drop_or_create(url, db_name, create=True) if on_postgres else f"sqlite:///{workdir / 'bench.sqlite3'}"
    )
    os.environ["VAR_DIR"] = str(workdir / "var")
    (workdir / "var" / "static").mkdir(parents=True)  # WhiteNoise warns about a missing STATIC_ROOT
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-any-deployment-0123456789")
    os.environ["ALLOWED_HOSTS"] = "testserver"
    os.environ["SECURE_SSL_REDIRECT"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "annotator.settings"
    os.environ["LOG_LEVEL"] = "WARNING"
    try:
        yield workdir
    finally:
        from django.db import connections

        connections.close_all()
        if on_postgres and os.environ.get("BENCH_KEEP_DB") != "1":
            drop_or_create(url, db_name, create=False)
