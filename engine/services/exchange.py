"""Inter-agency exchange over the national document axis (edXML, QCVN 102:2016).

A liên thông step sends a package from a BPMN service task (`vdxp/send_edoc`, through the outbox);
the periodic sweep fetches what other agencies sent: a reply (ResponseFor our package) completes
the dossier's waiting task marked `exchangeReply="true"` with the reply's content and files; status
packages (đã đến, đang xử lý, hoàn thành…) go to the dossier's history; a malformed package is
kept, with its problems, for inspection (the connector acknowledges it as failed to the sender).
A received file gets the checks of a citizen's upload (forms/uploads.py): one that fails them is
refused alone, with its reason on the dossier's history, and the rest of the package goes on."""

from __future__ import annotations

import base64
import binascii
import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from engine import history
from engine.context import EngineContext
from engine.db import transaction
from engine.errors import Conflict, Unavailable
from engine.models import Attachment, Dossier, ExchangeMessage, OutboxMessage
from forms.uploads import FileLimits, file_limits, read_upload

log = logging.getLogger(__name__)
CONNECTOR = "vdxp"
#: a fetched package waiting for the file store to answer again (see fetch_and_route)
HELD = "held"


def record_sent(session: Session, message: OutboxMessage, result: dict[str, Any], now: datetime) -> None:
    receivers = ", ".join(r.get("organ_id", "") for r in message.payload.get("receivers") or [])
    session.add(ExchangeMessage(direction="out", dossier_id=message.dossier_id, doc_id=result.get("doc_id"),
                                document_id=result.get("document_id"), peer=receivers, kind="edoc", state="sent",
                                subject=message.payload.get("subject"), detail={}, created_at=now))


def fetch_and_route(ctx: EngineContext) -> dict[str, int]:
    """Fetch received packages and route each one; returns counts by outcome.

    The axis counts a package as delivered once fetched, so nothing fetched may be lost: with the file
    store out of reach nothing is fetched, and a package that fails to route (the store failing midway,
    or any other error) is held whole in its own `exchange_message` row (state "held") and routed again,
    first thing, by later sweeps. A held row is deleted in the transaction that routes its package, and
    only one sweep can delete it: two sweeps at once deliver it once."""
    if CONNECTOR not in ctx.connectors.available():
        return {}
    now = datetime.now(UTC)
    counts = {"matched": 0, "unmatched": 0, "status": 0, "rejected": 0, "held": 0}
    try:
        ctx.files.check()
        for held_id in _held_ids(ctx):
            item, rejected = _held_item(ctx, held_id)
            if item is None:
                continue  # delivered meanwhile by another sweep
            try:
                counts[_deliver(ctx, item, now, rejected=rejected, held_id=held_id)] += 1
            except _AlreadyDelivered:
                continue
            except Unavailable:
                raise
            except Exception:  # noqa: BLE001 - this package stays held; the others and the fetch go on
                log.exception("exchange: held package %s could not be routed; it stays held", held_id)
    except Unavailable as exc:
        log.warning("exchange: the file store is out of reach, nothing fetched this round: %s", exc)
        with ctx.sessions() as session:
            counts["held"] = held_count(session)
        return counts
    answer = ctx.connectors.get(CONNECTOR).call("fetch_received", {}, idempotency_key=f"fetch:{now.timestamp()}")
    fetched = [(item, False) for item in answer.get("received") or []]
    fetched += [(item, True) for item in answer.get("rejected") or []]
    for item, rejected in fetched:
        try:
            counts[_deliver(ctx, item, now, rejected=rejected)] += 1
        except Exception as exc:  # noqa: BLE001 - fetched means acknowledged: keep it, whatever failed
            _hold(ctx, item, rejected, now, exc)
            counts["held"] += 1
    return counts


class _AlreadyDelivered(Exception):
    """Another sweep routed this held package first."""


def _deliver(ctx: EngineContext, item: dict[str, Any], now: datetime, *, rejected: bool,
             held_id: int | None = None) -> str:
    if rejected:
        _keep_rejected(ctx, item, now, held_id)
        return "rejected"
    return _route_retrying(ctx, item, now, held_id)


def _hold(ctx: EngineContext, item: dict[str, Any], rejected: bool, now: datetime, exc: Exception) -> None:
    with transaction(ctx.sessions) as session:
        session.add(ExchangeMessage(direction="in", dossier_id=None, doc_id=item.get("doc_id"), document_id=None,
                                    peer=item.get("from"), kind="edoc", state=HELD, subject=None,
                                    detail={"item": item, "rejected": rejected,
                                            "error": f"{type(exc).__name__}: {exc}"[:500]},
                                    created_at=now))
    log.warning("exchange: package %s from %s held, to be routed again: %s", item.get("doc_id"), item.get("from"),
                exc)


def _held_ids(ctx: EngineContext) -> list[int]:
    with ctx.sessions() as session:
        return list(session.scalars(select(ExchangeMessage.id).where(ExchangeMessage.state == HELD)
                                    .order_by(ExchangeMessage.id)))


def _held_item(ctx: EngineContext, held_id: int) -> tuple[dict[str, Any] | None, bool]:
    """One held package at a time (each may carry megabytes of attachments)."""
    with ctx.sessions() as session:
        detail = session.scalar(select(ExchangeMessage.detail).where(ExchangeMessage.id == held_id,
                                                                     ExchangeMessage.state == HELD))
    return (detail["item"], bool(detail.get("rejected"))) if detail else (None, False)


def held_count(session: Session) -> int:
    """Fetched packages waiting to be routed again (the sweep, the health page)."""
    return session.scalar(select(func.count()).select_from(ExchangeMessage).where(ExchangeMessage.state == HELD)) or 0


def _release(session: Session, held_id: int | None) -> None:
    """The held row goes in the transaction that delivers its package; a sweep that finds it gone (another
    sweep delivered it, its DELETE waited on that one's) delivers nothing."""
    if held_id is None:
        return
    gone = session.execute(delete(ExchangeMessage).where(ExchangeMessage.id == held_id, ExchangeMessage.state == HELD))
    if gone.rowcount != 1:
        raise _AlreadyDelivered


def _route_retrying(ctx: EngineContext, item: dict[str, Any], now: datetime, held_id: int | None = None) -> str:
    """The axis has handed the package over: an official moving the same dossier at that moment
    only means routing it again on the fresh row. The files go to the store first, once, with no
    transaction open (a bucket is asked over the network), for a package answering one of ours only:
    an unmatched package's files are not kept."""
    checked = None
    if not item.get("status"):
        with ctx.sessions() as session:
            matched = _sent_for(session, item) is not None
        if matched:
            checked = _store_files(ctx, item.get("attachments") or [])
    for _attempt in range(4):
        try:
            return _route(ctx, item, now, held_id, checked)
        except Conflict:
            continue
    return _route(ctx, item, now, held_id, checked)


def _route(ctx: EngineContext, item: dict[str, Any], now: datetime, held_id: int | None,
           checked: list[_Checked] | None) -> str:
    with transaction(ctx.sessions) as session:
        _release(session, held_id)
        if item.get("status"):
            return _status(session, item, now)
        envelope = item["envelope"]
        sent = _sent_for(session, item)
        row = ExchangeMessage(direction="in", dossier_id=sent.dossier_id if sent else None, doc_id=item.get("doc_id"),
                              document_id=envelope.get("document_id"), peer=item.get("from"), kind="edoc",
                              state="matched" if sent else "unmatched", subject=envelope.get("subject"),
                              detail={"envelope": envelope}, created_at=now)
        session.add(row)
        if sent is None:
            return "unmatched"
        dossier = session.get(Dossier, sent.dossier_id)
        if checked is None:  # matched only now (our letter's row was not there a moment ago)
            checked = _store_files(ctx, item.get("attachments") or [])
        files, refused = _attach(session, dossier, checked, now)
        history.record(session, dossier, "exchange_received", status=dossier.status, at=now,
                       data={"from": item.get("from"), "subject": envelope.get("subject"), "attachments": files})
        if refused:
            _record_refused(session, dossier, row, item.get("from"), refused, now)
        failed = _complete_waiting(ctx, session, dossier, envelope, files, refused)
    if failed is not None:  # the reply is kept, held on the instance until an admin retries
        from engine.incidents import record_instance_error

        record_instance_error(ctx, *failed)
    return "matched"


def _sent_for(session: Session, item: dict[str, Any]) -> ExchangeMessage | None:
    """Our package a received one (an edoc's envelope, or a status) answers by its ResponseFor, if any."""
    answered = item["status"] if item.get("status") else item["envelope"]
    reply_to = (answered.get("response_for") or {}).get("document_id")
    if not reply_to:
        return None
    return session.scalar(select(ExchangeMessage).where(ExchangeMessage.direction == "out",
                                                        ExchangeMessage.document_id == reply_to))


def _status(session: Session, item: dict[str, Any], now: datetime) -> str:
    status = item["status"]
    document_id = (status.get("response_for") or {}).get("document_id")
    sent = _sent_for(session, item)
    session.add(ExchangeMessage(direction="in", dossier_id=sent.dossier_id if sent else None, doc_id=item.get("doc_id"),
                                document_id=document_id, peer=item.get("from"), kind="status",
                                state="matched" if sent else "unmatched", subject=status.get("status_name"),
                                detail={"status": status}, created_at=now))
    if sent is not None:
        dossier = session.get(Dossier, sent.dossier_id)
        history.record(session, dossier, "exchange_status", status=dossier.status, at=now,
                       data={"from": item.get("from"), "code": status.get("status_code"),
                             "label": status.get("status_name"), "description": status.get("description")})
    return "status"


@dataclass(frozen=True)
class _Checked:
    """One of a package's files, checked and in the store: an attachment to be (`reason` None), or refused."""

    name: str
    content_type: str | None
    sha256: str | None
    size: int
    reason: str | None = None


def _store_files(ctx: EngineContext, files: list[dict[str, Any]]) -> list[_Checked]:
    """Into the store, before the transaction that records them (a bucket is asked over the network):
    the package's files that pass the checks a citizen's upload gets, and the bytes of those that do not,
    kept by hash for an administrator, never offered as an attachment."""
    limits = _attachment_limits(ctx)
    checked: list[_Checked] = []
    for file in files:
        raw = _decoded(file.get("data_b64"))
        named = str(file.get("name") or "").strip() or "tep-dinh-kem"
        upload = read_upload(_Received(named, file.get("content_type"), raw or b""), limits)
        if raw is None or upload is None or not upload.ok:
            name = upload.filename if upload else named
            reason = upload.errors[0] if raw is not None and upload else f"Tệp «{name}» không giải mã được (base64)"
            checked.append(_Checked(name, None, ctx.files.put(raw)[0] if raw else None, len(raw or b""), reason))
            continue
        sha256, size = ctx.files.put(upload.content)
        checked.append(_Checked(upload.filename, upload.content_type, sha256, size))
    return checked


def _attach(session: Session, dossier: Dossier, checked: list[_Checked],
            now: datetime) -> tuple[list[int], list[dict[str, Any]]]:
    """The good files become the dossier's attachments; the others are refused one by one (name, reason,
    digest). The package itself, its text and its good files, goes on: the sending agency is asked again
    for one file, not for all."""
    ids: list[int] = []
    refused: list[dict[str, Any]] = []
    for file in checked:
        if file.reason is not None:
            refused.append({"name": file.name, "reason": file.reason, "size": file.size, "sha256": file.sha256})
            continue
        attachment = Attachment(dossier_id=dossier.id, kind="lien-thong", filename=file.name,
                                content_type=file.content_type, sha256=file.sha256, size=file.size, created_at=now)
        session.add(attachment)
        session.flush()
        ids.append(attachment.id)
    return ids, refused


@dataclass(frozen=True)
class _Received:
    """A file from a package in the shape forms.uploads.read_upload reads (name, claimed type, bytes)."""

    filename: str
    mimetype: str | None
    content: bytes

    def read(self, size: int = -1) -> bytes:
        return self.content if size < 0 else self.content[:size]


def _decoded(data_b64: Any) -> bytes | None:
    try:
        return base64.b64decode(data_b64 or b"", validate=True)
    except (binascii.Error, TypeError, ValueError):
        return None


def _attachment_limits(ctx: EngineContext) -> FileLimits:
    """What a citizen may upload (PDF, PNG, JPEG, decided by the content, no active PDF content), up
    to the size the exchange connector itself accepts for one attachment."""
    from integrations.exchange.model import Limits

    size = ctx.settings.connectors.get(CONNECTOR, {}).get("max_attachment_bytes", Limits.max_attachment_bytes)
    return replace(file_limits({}), max_size=int(size))


def _record_refused(session: Session, dossier: Dossier, row: ExchangeMessage, sender: str | None,
                    refused: list[dict[str, Any]], now: datetime) -> None:
    """Each refused file: on the message for administrators, on the dossier's history for its officials."""
    row.detail = {**row.detail, "refused": refused}
    for file in refused:
        history.record(session, dossier, "exchange_attachment_refused", status=dossier.status, at=now,
                       data={"from": sender, "name": file["name"], "reason": file["reason"]})
    log.warning("refused %d attachment(s) of exchange package %s from %s", len(refused), row.doc_id, sender)


def _complete_waiting(ctx: EngineContext, session: Session, dossier: Dossier, envelope: dict[str, Any],
                      files: list[int], refused: list[dict[str, Any]]) -> tuple[int, Exception] | None:
    """The reply goes to the waiting step; if none waits, the history entry is where officials read it.
    Suspended, or the workflow failing on it: held on the instance, never lost. Refused files are
    named with their reason (tep_bi_tu_choi) so the step after it can show what is missing."""
    from engine.services.instances import complete_marked_or_hold

    reply = {"van_ban_tra_loi": {"trich_yeu": envelope.get("subject"), "so": envelope.get("code_number"),
                                 "ky_hieu": envelope.get("code_notation"), "noi_dung": envelope.get("content"),
                                 "tep_dinh_kem": files}}
    if refused:
        reply["van_ban_tra_loi"]["tep_bi_tu_choi"] = [{"ten": f["name"], "ly_do": f["reason"]} for f in refused]
    return complete_marked_or_hold(ctx, session, dossier, "exchangeReply", reply)


def _keep_rejected(ctx: EngineContext, item: dict[str, Any], now: datetime, held_id: int | None = None) -> None:
    raw = base64.b64decode(item.get("raw_b64") or b"")
    sha256 = ctx.files.put(raw)[0] if raw else None
    with transaction(ctx.sessions) as session:
        _release(session, held_id)
        session.add(ExchangeMessage(direction="in", dossier_id=None, doc_id=item.get("doc_id"), document_id=None,
                                    peer=item.get("from"), kind="edoc", state="rejected", subject=None,
                                    detail={"problems": item.get("problems") or []}, raw_sha256=sha256,
                                    created_at=now))
    log.warning("rejected edXML package %s from %s: %s", item.get("doc_id"), item.get("from"), item.get("problems"))


def received_messages(ctx: EngineContext, state: str | None = None) -> list[ExchangeMessage]:
    with ctx.sessions() as session:
        query = select(ExchangeMessage).where(ExchangeMessage.direction == "in").order_by(ExchangeMessage.id)
        if state:
            query = query.where(ExchangeMessage.state == state)
        return list(session.scalars(query))
