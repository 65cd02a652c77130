"""event partitioned by month (PostgreSQL): the audit trail in one partition per month, Vietnam time

The history is the largest table (58% of a dossier's bytes, docs/scaling.md) and it only grows: rows
are appended, never changed. One partition per month keeps each month's table and indexes apart, so
an old month can move to cheaper storage (`ALTER TABLE event_2025_01 SET TABLESPACE ...`), be backed up
once and left alone, and VACUUM and index maintenance work on this month's rows, not on years of them.

- Partitions are named `event_YYYY_MM` and hold the events whose `at` falls in that calendar month in
  Vietnam (UTC+7), the month the province's reports count in.
- `event_default` catches an event of a month without a partition (history imported or restored from
  long ago, a clock set far ahead), so no write ever fails for want of one; it stays empty otherwise.
- `motcua_event_month(day)` creates the partition of `day`'s month, taking out of `event_default` any
  rows of that month first (one caller at a time: an advisory lock). This migration creates one per
  month found in the history and the current and next two months; `engine/event_months.py` keeps two
  months ahead from the clock sweep, and seeding and restores create the months they write.
- The primary key is (id, at) and the per-dossier key (dossier_id, seq, at): a key of a partitioned
  table includes the partition column. `seq` is still unique per dossier: it is taken from the chain
  head on the dossier row, under that row's optimistic lock, and `motcua audit verify` checks it.
- The append-only triggers of 0008 are on the parent (the row trigger reaches every partition) and,
  for TRUNCATE, on each partition as well: truncating one partition fires only its own.

Existing rows are copied into their months (an INSERT ... SELECT in the migration's transaction), then
the unpartitioned table is dropped. SQLite keeps one table: nothing changes there.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 16:00:00
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

MONTHS_AHEAD = 2
COLUMNS = "id, dossier_id, seq, kind, at, actor_id, actor_name, status, data, prev_hash, hash, origin"
#: the columns as migrations 0001 and 0007 left them (the id drawn from the table's own sequence)
DEFINITIONS = """
    id bigint NOT NULL DEFAULT nextval('event_id_seq'),
    dossier_id bigint NOT NULL CONSTRAINT event_dossier_id_fkey REFERENCES dossier (id),
    seq integer NOT NULL,
    kind varchar(48) NOT NULL,
    at timestamptz NOT NULL,
    actor_id bigint CONSTRAINT event_actor_id_fkey REFERENCES user_account (id),
    actor_name varchar(255),
    status varchar(32),
    data json NOT NULL,
    prev_hash varchar(64) NOT NULL,
    hash varchar(64) NOT NULL,
    origin varchar(80)"""

MONTH_FUNCTION = r"""
CREATE OR REPLACE FUNCTION motcua_event_month(day date) RETURNS boolean AS $$
DECLARE
    first_day date := date_trunc('month', day)::date;
    -- the bounds as ISO text at Vietnam's fixed +07 (to_char does not follow DateStyle or TimeZone)
    lower_text text := to_char(first_day, 'YYYY-MM-DD') || ' 00:00:00+07';
    upper_text text := to_char(first_day + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+07';
    lower_bound timestamptz := lower_text::timestamptz;
    upper_bound timestamptz := upper_text::timestamptz;
    part text := 'event_' || to_char(first_day, 'YYYY_MM');
    purging text := coalesce(current_setting('motcua.purge', true), '');
BEGIN
    -- one creator at a time (the clock sweeps of several processes, a seeding): the second waits,
    -- then finds the partition made
    PERFORM pg_advisory_xact_lock(20260013);
    IF to_regclass(quote_ident(part)) IS NOT NULL THEN
        RETURN false;
    END IF;
    IF EXISTS (SELECT 1 FROM event_default WHERE at >= lower_bound AND at < upper_bound) THEN
        -- the month's rows leave the default partition for their own (the only deletion of audit rows
        -- this function makes, and the rows are written again in the same transaction)
        PERFORM set_config('motcua.purge', 'on', true);
        ALTER TABLE event DETACH PARTITION event_default;
        EXECUTE format('CREATE TABLE %I PARTITION OF event FOR VALUES FROM (%L) TO (%L)',
                       part, lower_text, upper_text);
        EXECUTE format('INSERT INTO %I SELECT * FROM event_default WHERE at >= %L AND at < %L',
                       part, lower_text, upper_text);
        DELETE FROM event_default WHERE at >= lower_bound AND at < upper_bound;
        ALTER TABLE event ATTACH PARTITION event_default DEFAULT;
        PERFORM set_config('motcua.purge', purging, true);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF event FOR VALUES FROM (%L) TO (%L)',
                       part, lower_text, upper_text);
    END IF;
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON %I FOR EACH STATEMENT '
                   'EXECUTE FUNCTION motcua_append_only()', part || '_no_truncate', part);
    RETURN true;
END;
$$ LANGUAGE plpgsql
"""


def _postgresql() -> bool:
    bind = op.get_bind()
    return bind.dialect.name == 'postgresql'


def _append_only() -> None:
    """0008's triggers on the new `event` (the row trigger reaches every partition it will have)."""
    op.execute("CREATE TRIGGER event_append_only BEFORE UPDATE OR DELETE ON event "
               "FOR EACH ROW EXECUTE FUNCTION motcua_append_only()")
    op.execute("CREATE TRIGGER event_no_truncate BEFORE TRUNCATE ON event "
               "FOR EACH STATEMENT EXECUTE FUNCTION motcua_append_only()")


def _replace(old_name: str, primary_key: str, dossier_key: str, partitioning: str) -> None:
    """`event` renamed to `old_name` without its keys and foreign keys (their names are the new
    table's), and a new `event` with these keys, drawing ids from the same sequence."""
    op.execute(f"ALTER TABLE event RENAME TO {old_name}")
    for constraint in ("event_pkey", "event_dossier_id_seq_key", "event_dossier_id_fkey", "event_actor_id_fkey"):
        op.execute(f"ALTER TABLE {old_name} DROP CONSTRAINT IF EXISTS {constraint}")
    op.execute(f"CREATE TABLE event ({DEFINITIONS}, CONSTRAINT event_pkey PRIMARY KEY {primary_key},"
               f" CONSTRAINT event_dossier_id_seq_key UNIQUE {dossier_key}){partitioning}")
    op.execute("ALTER SEQUENCE event_id_seq OWNED BY event.id")


def upgrade() -> None:
    if not _postgresql():
        return
    _replace("event_unpartitioned", "(id, at)", "(dossier_id, seq, at)", " PARTITION BY RANGE (at)")
    op.execute("CREATE TABLE event_default PARTITION OF event DEFAULT")
    op.execute("CREATE TRIGGER event_default_no_truncate BEFORE TRUNCATE ON event_default "
               "FOR EACH STATEMENT EXECUTE FUNCTION motcua_append_only()")
    op.execute(MONTH_FUNCTION)
    op.execute(f"""
        SELECT motcua_event_month(month) FROM (
            SELECT DISTINCT date_trunc('month', at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS month
              FROM event_unpartitioned
            UNION
            SELECT (date_trunc('month', now() AT TIME ZONE 'Asia/Ho_Chi_Minh') + make_interval(months => ahead))::date
              FROM generate_series(0, {MONTHS_AHEAD}) AS ahead
        ) AS months ORDER BY month""")
    op.execute(f"INSERT INTO event ({COLUMNS}) SELECT {COLUMNS} FROM event_unpartitioned")
    op.execute("DROP TABLE event_unpartitioned")
    _append_only()
    op.execute("ANALYZE event")


def downgrade() -> None:
    if not _postgresql():
        return
    _replace("event_partitioned", "(id)", "(dossier_id, seq)", "")
    op.execute(f"INSERT INTO event ({COLUMNS}) SELECT {COLUMNS} FROM event_partitioned ORDER BY id")
    op.execute("DROP TABLE event_partitioned CASCADE")
    op.execute("DROP FUNCTION IF EXISTS motcua_event_month(date)")
    _append_only()
