"""Alembic migrations: the migrated schema is what the models declare, and 0005 goes down and up with data in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from engine.db import MIGRATIONS_DIR, make_engine, upgrade
from engine.models import Base


def _downgrade(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_the_migrated_studio_tables_match_the_models_on_both_databases(backend_context):
    with backend_context.db.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    studio = [d for d in differences if "procedure_draft" in repr(d) or "diff_summary" in repr(d)]
    assert studio == []


def test_0005_goes_down_and_up_again_with_published_versions_and_drafts_in_the_database(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'motcua.db'}")
    upgrade(engine, "0004")
    now = datetime.now(UTC).replace(tzinfo=None)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO procedure (id, slug, code, name) VALUES (1, 'thu', 'thu', 'Thủ tục')"))
        connection.execute(text("INSERT INTO procedure_version (id, procedure_id, number, content_hash, package, "
                                "published_at, published_by) VALUES (1, 1, 1, 'h', '{}', :now, 'system')"),
                           {"now": now})
        connection.execute(text("UPDATE procedure SET latest_version_id = 1"))
    upgrade(engine)
    with engine.begin() as connection:
        assert connection.execute(text("SELECT diff_summary FROM procedure_version")).scalar_one() is None
        connection.execute(text("INSERT INTO procedure_draft (procedure_id, slug, name, based_on_version_id, package, "
                                "import_findings, updated_by, updated_at, created_at, revision) VALUES "
                                "(1, 'thu', 'Thủ tục', 1, '{}', '[]', 'phantich', :now, :now, 1)"), {"now": now})
    _downgrade(engine, "0004")
    assert "procedure_draft" not in inspect(engine).get_table_names()
    assert "diff_summary" not in {c["name"] for c in inspect(engine).get_columns("procedure_version")}
    upgrade(engine)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT published_by FROM procedure_version")).scalar_one() == "system"
    engine.dispose()


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_a_search_by_the_beginning_of_a_dossier_code_can_use_an_index_on_postgresql(backend_context):
    """Migration 0010: under a non-C collation the unique index on `code` cannot answer LIKE 'prefix%'."""
    with backend_context.db.begin() as connection:
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(connection.execute(text(
            "EXPLAIN SELECT id FROM dossier WHERE code LIKE '000.00.21.H99-2612%'")).scalars())
    assert "ix_dossier_code_prefix" in plan, plan


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_workflow_state_is_written_with_lz4_on_postgresql(backend_context):
    """Migration 0011: the state every completion rewrites is compressed with lz4 (cheaper than pglz)."""
    state = ('{"tasks": "' + "trạng thái " * 2000 + '"}').encode()  # compressible, well over TOAST's 2 KB
    with backend_context.db.begin() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE probe (LIKE workflow_instance INCLUDING ALL)"))
        connection.execute(text("INSERT INTO probe (id, dossier_id, procedure_version_id, state, version, "
                                "completed, updated_at) VALUES (1, 1, 1, :state, 1, false, now())"), {"state": state})
        method = connection.execute(text("SELECT pg_column_compression(state) FROM probe")).scalar_one()
    assert method == "lz4"


@pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)
def test_outbox_payloads_are_written_with_lz4_on_postgresql(backend_context):
    """Migration 0012: a render request's frozen content (past TOAST's 2 KB) is compressed with lz4."""
    payload = '{"kind": "giay-tiep-nhan", "context": "' + "nội dung " * 1000 + '"}'
    with backend_context.db.begin() as connection:
        connection.execute(text("CREATE TEMPORARY TABLE outbox_probe (LIKE outbox INCLUDING ALL) ON COMMIT DROP"))
        connection.execute(text(
            "INSERT INTO outbox_probe (connector, operation, payload, context, result, idempotency_key, waits, state, "
            "attempts, next_attempt_at, created_at) VALUES ('documents', 'render', CAST(:p AS json), "
            "CAST(:p AS json), CAST(:p AS json), 'k', false, 'pending', 0, now(), now())"), {"p": payload})
        methods = connection.execute(text(
            "SELECT pg_column_compression(payload), pg_column_compression(context), "
            "pg_column_compression(result) FROM outbox_probe")).one()
    assert tuple(methods) == ("lz4", "lz4", "lz4")
