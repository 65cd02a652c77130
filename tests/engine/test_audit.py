"""The audit-trail check walks every dossier's hash chain and names the first broken link of each."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from engine.audit import verify_all
from engine.models import Dossier, Event
from tests.factories import submit, work


def two_dossiers(ctx, actors):
    first, second = submit(ctx, actors["congdan"]), submit(ctx, actors["congdan"])
    work(ctx, actors["tiepnhan"], first.code, {"ket_qua_tiep_nhan": "tiep_nhan"})
    with ctx.sessions() as session:
        return {code: session.scalar(select(Dossier.id).where(Dossier.code == code))
                for code in (first.code, second.code)}, first.code, second.code


def test_intact_histories_pass_in_any_batch_size(ctx, actors):
    _ids, _first, _second = two_dossiers(ctx, actors)
    for batch in (1, 1000):
        result = verify_all(ctx, batch=batch)
        assert result.intact and result.dossiers == 2
    with ctx.sessions() as session:
        assert result.events == len(list(session.scalars(select(Event.id))))


def test_an_edited_event_is_the_first_broken_link_of_its_dossier_only(ctx, actors):
    ids, first, second = two_dossiers(ctx, actors)
    with ctx.db.begin() as conn:
        conn.execute(update(Event).where(Event.dossier_id == ids[first], Event.seq == 3)
                     .values(data={"sửa": "lén"}))
    result = verify_all(ctx, batch=1)
    assert [(b.code, b.seq, b.reason) for b in result.broken] == [(first, 3, "hash")]


def test_a_removed_event_and_a_cut_off_end_are_both_caught(ctx, actors):
    ids, first, second = two_dossiers(ctx, actors)
    with ctx.sessions() as session:
        last = session.scalar(select(Dossier.event_seq).where(Dossier.id == ids[second]))
    with ctx.db.begin() as conn:
        conn.execute(delete(Event).where(Event.dossier_id == ids[first], Event.seq == 2))
        conn.execute(delete(Event).where(Event.dossier_id == ids[second], Event.seq == last))
    broken = {b.code: (b.seq, b.reason) for b in verify_all(ctx).broken}
    assert broken == {first: (2, "link"), second: (last, "head")}
