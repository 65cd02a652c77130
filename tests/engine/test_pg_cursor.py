"""engine/pg_cursor.py on the real PostgreSQL: the lazy description says what psycopg's own would,
for the result it was taken from, and the engine's connections use it."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from engine.models import Dossier, Task
from engine.pg_cursor import LazyDescription, LazyDescriptionCursor
from tests.factories import submit

pytestmark = pytest.mark.parametrize("backend_context", ["postgresql"], indirect=True)

QUERIES = [
    "SELECT 1 AS one, 'a'::varchar(12) AS word, now() AS at, NULL::numeric(10, 2) AS money, '{}'::jsonb AS doc",
    "SELECT",  # a result with rows and no column: described as an empty list
    "SELECT n FROM generate_series(1, 3) AS n WHERE false",
]


@pytest.fixture
def connect(ctx):
    """Two plain psycopg connections to the test database: one with psycopg's cursor, one with ours."""
    url = make_url(ctx.settings.database_url).set(drivername="postgresql")
    opened = []

    def _connect(factory):
        connection = psycopg.connect(url.render_as_string(hide_password=False), cursor_factory=factory,
                                     autocommit=True)
        opened.append(connection)
        return connection

    yield _connect
    for connection in opened:
        connection.close()


def _columns(description):
    return None if description is None else [
        (column.name, column.type_code, column.display_size, column.internal_size, column.precision, column.scale,
         column.null_ok, tuple(column), column.type_display) for column in description]


@pytest.mark.parametrize("query", QUERIES)
def test_describes_what_psycopg_describes(ctx, connect, query):
    plain, lazy = connect(psycopg.Cursor).cursor(), connect(LazyDescriptionCursor).cursor()
    plain.execute(query)
    lazy.execute(query)
    described = lazy.description
    assert isinstance(described, LazyDescription)
    assert len(described) == len(plain.description)
    assert bool(described) == bool(plain.description)
    assert _columns(described) == _columns(plain.description)
    assert [column.name for column in described[1:]] == [column.name for column in plain.description[1:]]


def test_none_where_psycopg_says_none(ctx, connect):
    lazy = connect(LazyDescriptionCursor).cursor()
    assert lazy.description is None  # nothing run yet
    lazy.execute("SET application_name = 'motcua-test'")
    assert lazy.description is None  # a command without rows
    assert connect(psycopg.Cursor).cursor().execute("SET application_name = 'x'").description is None


def test_describes_its_own_result_after_the_cursor_moved_on(ctx, connect):
    """Read late (after the cursor ran something else), the description is still of its statement."""
    lazy = connect(LazyDescriptionCursor).cursor()
    lazy.execute("SELECT 1 AS first_column, 2 AS second_column")
    first = lazy.description
    lazy.execute("SELECT 'x' AS other")
    assert [column.name for column in first] == ["first_column", "second_column"]
    assert [column.name for column in lazy.description] == ["other"]


def test_engine_connections_describe_lazily_and_results_read_as_before(ctx, actors, connect):
    code = submit(ctx, actors["congdan"]).code
    status, version = connect(psycopg.Cursor).execute("SELECT status, version FROM dossier WHERE code = %s",
                                                      (code,)).fetchone()
    with ctx.db.connect() as connection:
        cursor = connection.connection.driver_connection.cursor()
        assert isinstance(cursor, LazyDescriptionCursor)
        cursor.close()
        for _ in range(3):  # the second run onwards reads the metadata SQLAlchemy cached with the statement
            row = connection.execute(select(Dossier.code, Dossier.status, Dossier.version)
                                     .where(Dossier.code == code)).one()
            assert (row.code, row._mapping["status"], row[2]) == (code, status, version)
        result = connection.execute(text("SELECT code AS dossier_code, 2 AS two FROM dossier WHERE code = :c"),
                                    {"c": code})
        assert list(result.keys()) == ["dossier_code", "two"]
        assert result.one()._asdict() == {"dossier_code": code, "two": 2}
    with ctx.sessions() as session:  # ORM rows, entities and columns side by side
        for _ in range(2):
            task, dossier_code = session.execute(select(Task, Dossier.code).join(Dossier, Dossier.id == Task.dossier_id)
                                                 .where(Dossier.code == code)).one()
            assert (task.dossier.code, dossier_code, task.state) == (code, code, "open")


def test_a_cursor_class_chosen_in_connect_args_is_kept(ctx):
    from engine.db import make_engine

    engine = make_engine(ctx.settings.database_url, connect_args={"cursor_factory": psycopg.ClientCursor})
    try:
        with engine.connect() as connection:
            assert connection.connection.driver_connection.cursor_factory is psycopg.ClientCursor
            assert connection.execute(text("SELECT 2 AS two")).scalar_one() == 2
    finally:
        engine.dispose()
