"""The other agency of a liên thông step, played on the simulated axis by a person or a timer.

In development and drills nobody runs the court's or the police's own document system, so the
simulator plays it: it reads what reached that agency's mailbox, sends status packages back
(đã đến, đã tiếp nhận, hoàn thành...) and answers with a real edXML package whose
``ResponseFor`` names the original document, routed exactly as ``sendEdoc`` would route it
(:meth:`ExchangeSimulator.deliver`). That is what lets the sending motcua match the answer
to its dossier. The pages are in :mod:`.desk_app`; this module holds the agency's actions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .edxml import build_package, build_status, parse_package, parse_status
from .model import (
    STATUS_CODES,
    VN_TZ,
    Attachment,
    EdocEnvelope,
    Limits,
    Organ,
    PackageInvalid,
    ResponseFor,
    Signer,
    Staff,
    StatusMessage,
)
from .records import AxisRefused, DocumentRecord, MailItem

__all__ = [
    "AUTO_REPLY_CONTENT",
    "DeskError",
    "DeskNotFound",
    "PeerDesk",
    "ReceivedDocument",
    "ReceivedStatus",
    "SentPackage",
]

log = logging.getLogger(__name__)

#: What the auto-responder writes when told nothing else.
AUTO_REPLY_CONTENT = "Cơ quan đã nhận và xử lý xong văn bản. (Trả lời tự động của trục liên thông mô phỏng.)"
#: Ký hiệu of a reply when none is given.
DEFAULT_NOTATION = "VP"
DEFAULT_SIGNER = Signer("TL. THỦ TRƯỞNG CƠ QUAN", "Chánh Văn phòng", "Người ký mô phỏng")
DESK_STAFF = Staff(department="Văn phòng", staff="Văn thư (bàn làm việc mô phỏng)")
#: Status codes after which the agency is done with the document (its mailbox item is acknowledged).
FINAL_CODES = frozenset({"02", "06", "15"})
#: Status codes a receiver may always send; 15/16 only answer a pending recall (13).
RECEIVER_CODES = ("01", "02", "03", "04", "05", "06")
_AUTO_POLL_SECONDS = 0.1


class DeskError(ValueError):
    """The desk cannot do what was asked; the message is Vietnamese, for the page."""


class DeskNotFound(DeskError, LookupError):
    """No such agency, or no such document in its mailbox."""


@dataclass(frozen=True)
class SentPackage:
    """What the desk put on the axis: its ``DocId`` and the edXML DocumentId it is about."""

    doc_id: str
    document_id: str


@dataclass(frozen=True)
class ReceivedDocument:
    """A document package in an agency's mailbox, read (``envelope`` is None if unreadable)."""

    item: MailItem
    envelope: EdocEnvelope | None
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def readable(self) -> EdocEnvelope:
        if self.envelope is None:
            raise DeskError(
                f"Gói tin {self.item.doc_id} không hợp lệ nên không xử lý được: {'; '.join(self.problems)}"
            )
        return self.envelope


@dataclass(frozen=True)
class ReceivedStatus:
    """A status package in an agency's mailbox (``message`` is None if unreadable)."""

    item: MailItem
    message: StatusMessage | None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _AutoReply:
    after_seconds: float
    content: str
    subject: str
    code_notation: str
    attachments: tuple[tuple[str, str, bytes], ...]


class PeerDesk:
    """Mixed into :class:`~.simulator.ExchangeSimulator`: the receiving agencies' actions."""

    if TYPE_CHECKING:  # provided by ExchangeSimulator
        limits: Limits
        _lock: threading.RLock

        def mailbox(self, code: str, *, messagetype: str | None = None) -> list[MailItem]: ...
        def document(self, document_id: str) -> DocumentRecord | None: ...
        def remember_document(self, record: DocumentRecord) -> DocumentRecord: ...
        def agencies(self) -> dict[str, str]: ...
        def deliver(self, system_id: str, messagetype: str, data: bytes, to: Sequence[str] = ()) -> str: ...
        def acknowledge(self, code: str, doc_id: Any, state: Any, error_desc: str = "") -> None: ...

    #: Largest PDF the desk's reply form accepts (bytes).
    desk_max_upload_bytes: int = 10 * 1024 * 1024

    def _init_desk(self) -> None:
        self._desk_lock = threading.Lock()
        self._read_cache: dict[tuple[str, str, str], Any] = {}
        self._desk_replies: dict[tuple[str, str], list[SentPackage]] = {}
        self._auto_rules: dict[str, _AutoReply] = {}
        self._auto_seen: set[tuple[str, str]] = set()
        self._auto_sent: set[str] = set()
        self._auto_stop = threading.Event()
        self._auto_thread: threading.Thread | None = None

    def _forget_desk(self) -> None:
        """Forget what was read and answered (the mail is gone); auto-responders stay configured."""
        with self._desk_lock:
            self._read_cache.clear()
            self._desk_replies.clear()
            self._auto_seen.clear()
            self._auto_sent.clear()

    # -- reading the mailbox ----------------------------------------------------------------

    def desk_documents(self, organ_id: str) -> list[ReceivedDocument]:
        """The document packages addressed to ``organ_id``, newest first."""
        self._known(organ_id)
        return [self._read(item) for item in reversed(self.mailbox(organ_id, messagetype="edoc"))]

    def desk_statuses(self, organ_id: str) -> list[ReceivedStatus]:
        """The status packages addressed to ``organ_id``, newest first."""
        self._known(organ_id)
        return [self._read(item) for item in reversed(self.mailbox(organ_id, messagetype="status"))]

    def desk_document(self, organ_id: str, document_id: str) -> ReceivedDocument:
        """One document of ``organ_id``'s mailbox, by its axis ``DocId`` or its edXML DocumentId."""
        self._known(organ_id)
        items = list(reversed(self.mailbox(organ_id, messagetype="edoc")))
        for item in items:
            if item.doc_id == document_id:
                return self._read(item)
        for item in items:
            received = self._read(item)
            if received.envelope is not None and received.envelope.document_id == document_id:
                return received
        raise DeskNotFound(f"Không có văn bản {document_id} trong hộp thư của {organ_id}")

    def statuses_sent(self, organ_id: str, document_id: str) -> list[str]:
        """Status codes ``organ_id`` sent about the document (edXML DocumentId), in order."""
        record = self.document(document_id)
        return [code for sender, code in (record.statuses if record else []) if sender == organ_id]

    def replies_sent(self, organ_id: str, doc_id: str) -> list[SentPackage]:
        """The replies the desk sent for ``organ_id`` to its mailbox item ``doc_id``."""
        with self._desk_lock:
            return list(self._desk_replies.get((organ_id, doc_id), []))

    def status_choices(self, organ_id: str, received: ReceivedDocument) -> list[tuple[str, str]]:
        """(code, label) of the status packages ``organ_id`` may send about ``received`` now."""
        if received.envelope is None:
            return []
        record = self.document(received.envelope.document_id)
        codes = RECEIVER_CODES + (("15", "16") if record and record.recall == "requested" else ())
        return [(code, STATUS_CODES[code]) for code in codes]

    def next_code_number(self, organ_id: str, code_notation: str = DEFAULT_NOTATION) -> str:
        """The first số not yet used today by ``organ_id`` with ``code_notation``."""
        today = datetime.now(VN_TZ).date()
        number = 1
        while self.document(f"{organ_id},{today:%Y/%m/%d},{number}/{code_notation}") is not None:
            number += 1
        return str(number)

    # -- acting on a document -------------------------------------------------------------

    def reply(
        self,
        organ_id: str,
        document_id: str,
        *,
        code_number: str = "",
        code_notation: str = "",
        subject: str = "",
        content: str = "",
        attachments: Sequence[tuple[str, str, bytes]] = (),
        signer: Signer | None = None,
        place: str = "",
    ) -> SentPackage:
        """Answer a document in ``organ_id``'s mailbox (by ``DocId`` or DocumentId) to its sender.

        The answer is a real edXML package with ``ResponseFor`` naming the original, routed as
        ``sendEdoc`` would; the original item is then acknowledged ``done``. Số defaults to
        the next free one, ký hiệu to ``VP``, trích yếu to "V/v trả lời Văn bản số ...".
        """
        received = self.desk_document(organ_id, document_id)
        original = received.readable()
        organ = Organ(organ_id, self.agencies()[organ_id])
        notation = str(code_notation).strip() or DEFAULT_NOTATION
        envelope = EdocEnvelope(
            sender=organ,
            receivers=[original.sender],
            code_number=str(code_number).strip() or self.next_code_number(organ_id, notation),
            code_notation=notation,
            promulgation_place=place or organ.name,
            promulgation_date=datetime.now(VN_TZ).date(),
            subject=subject.strip()
            or f"V/v trả lời Văn bản số {original.code} ngày {original.promulgation_date:%d/%m/%Y}",
            content=content,
            signer=signer or DEFAULT_SIGNER,
            response_for=_response_for(original),
        )
        files = [Attachment(f"a{i}", n, t, bytes(d)) for i, (n, t, d) in enumerate(attachments, 1)]
        try:
            package = build_package(envelope, files, limits=self.limits)
        except PackageInvalid as exc:
            raise DeskError("Văn bản trả lời không hợp lệ: " + "; ".join(exc.problems)) from None
        with self._lock:  # the number is checked and taken at once
            if self.document(envelope.document_id) is not None:
                raise DeskError(f"Số, ký hiệu {envelope.code} đã được dùng cho một văn bản khác hôm nay")
            sent = SentPackage(self._put(organ_id, "edoc", package), envelope.document_id)
            self.acknowledge(organ_id, received.item.doc_id, "done")
        with self._desk_lock:
            self._desk_replies.setdefault((organ_id, received.item.doc_id), []).append(sent)
        log.info("peer desk: %s answered %s with %s", organ_id, original.document_id, sent.document_id)
        return sent

    def send_status(
        self,
        organ_id: str,
        document_id: str,
        status_code: str,
        *,
        description: str = "",
        staff: Staff | None = None,
    ) -> SentPackage:
        """Send a status package about a document of ``organ_id``'s mailbox back to its sender.

        02, 06 and 15 acknowledge the mailbox item ``done``, the others ``processing``.
        """
        received = self.desk_document(organ_id, document_id)
        original = received.readable()
        if status_code not in STATUS_CODES:
            raise DeskError(
                f"Mã trạng thái '{status_code}' không hợp lệ (cho phép: {', '.join(STATUS_CODES)})"
            )
        receivers = [r.organ_id for r in original.receivers]
        self.remember_document(
            DocumentRecord(original.document_id, original.sender.organ_id, receivers, received.item.doc_id)
        )
        organ = Organ(organ_id, self.agencies()[organ_id])
        package = build_status(
            _response_for(original),
            organ,
            status_code,
            description or STATUS_CODES[status_code],
            staff or DESK_STAFF,
        )
        sent = SentPackage(self._put(organ_id, "status", package), original.document_id)
        state = "done" if status_code in FINAL_CODES else "processing"
        with self._lock:
            current = next((m.state for m in self.mailbox(organ_id) if m.doc_id == received.item.doc_id), "")
            if current == "pending" or (current == "processing" and state == "done"):
                self.acknowledge(organ_id, received.item.doc_id, state)
        return sent

    # -- the auto-responder -----------------------------------------------------------------

    def auto_reply(
        self,
        organ_id: str,
        after_seconds: float | None,
        content: str = AUTO_REPLY_CONTENT,
        *,
        subject: str = "",
        code_notation: str = "",
        attachments: Sequence[tuple[str, str, bytes]] = (),
    ) -> None:
        """Answer every document ``organ_id`` receives with this reply ``after_seconds`` after it
        arrived (documents already waiting included); ``None`` turns the responder off.

        For unattended demos. A reply to one of the responder's own replies is never answered,
        so two responders cannot talk to each other forever.
        """
        self._known(organ_id)
        with self._desk_lock:
            if after_seconds is None:
                self._auto_rules.pop(organ_id, None)
                return
            if after_seconds < 0:
                raise ValueError("after_seconds must be >= 0")
            self._auto_rules[organ_id] = _AutoReply(
                float(after_seconds), content, subject, code_notation, tuple(attachments)
            )
        self._resume_auto_replies()

    def auto_replies(self) -> dict[str, float]:
        """OrganId -> delay in seconds of every auto-responder turned on."""
        with self._desk_lock:
            return {code: rule.after_seconds for code, rule in self._auto_rules.items()}

    def _resume_auto_replies(self) -> None:
        """Run the responder thread while some responder is configured (and not stopped)."""
        with self._desk_lock:
            if not self._auto_rules or (self._auto_thread and self._auto_thread.is_alive()):
                return
            self._auto_stop = threading.Event()
            self._auto_thread = threading.Thread(
                target=self._auto_loop, args=(self._auto_stop,), name="vdxp-peer-desk-auto", daemon=True
            )
            self._auto_thread.start()

    def _pause_auto_replies(self) -> None:
        with self._desk_lock:
            thread, self._auto_thread = self._auto_thread, None
            self._auto_stop.set()
        if thread is not None:
            thread.join(timeout=5)

    def _auto_loop(self, stop: threading.Event) -> None:
        while not stop.wait(_AUTO_POLL_SECONDS):
            try:
                self._auto_tick()
            except Exception:  # the responder must outlive one bad tick; the log says what went wrong
                log.exception("peer desk auto-responder failed")

    def _auto_tick(self) -> None:
        now = datetime.now(VN_TZ)
        with self._desk_lock:
            rules = dict(self._auto_rules)
        for organ_id, rule in rules.items():
            for item in self.mailbox(organ_id, messagetype="edoc"):
                key = (organ_id, item.doc_id)
                waited = (now - item.created_time).total_seconds()
                if item.state not in ("pending", "processing") or key in self._auto_seen:
                    continue
                if waited < rule.after_seconds:
                    continue
                self._auto_seen.add(key)
                envelope = self._read(item).envelope
                answered = envelope.response_for if envelope is not None else None
                if envelope is None or (answered is not None and answered.document_id in self._auto_sent):
                    continue
                try:
                    sent = self.reply(
                        organ_id,
                        item.doc_id,
                        content=rule.content,
                        subject=rule.subject,
                        code_notation=rule.code_notation,
                        attachments=rule.attachments,
                    )
                except DeskError as exc:
                    log.warning("peer desk: %s could not auto-answer %s: %s", organ_id, item.doc_id, exc)
                    continue
                self._auto_sent.add(sent.document_id)

    # -- helpers ---------------------------------------------------------------------------

    def _known(self, organ_id: str) -> None:
        if organ_id not in self.agencies():
            raise DeskNotFound(f"Cơ quan {organ_id} chưa đăng ký trên trục liên thông")

    def _put(self, organ_id: str, messagetype: str, package: bytes) -> str:
        try:
            return self.deliver(organ_id, messagetype, package)
        except AxisRefused as exc:
            raise DeskError(f"Trục liên thông từ chối: {exc}") from None

    def _read(self, item: MailItem) -> Any:
        """The item parsed: a :class:`ReceivedDocument` or :class:`ReceivedStatus` (parsed once,
        the bytes of a mailbox item never change; its state does, so it is taken fresh)."""
        key = (item.receiver, item.doc_id, item.messagetype)
        with self._desk_lock:
            cached = self._read_cache.get(key)
        if cached is None:
            kind = ReceivedStatus if item.messagetype == "status" else ReceivedDocument
            try:
                if kind is ReceivedStatus:
                    cached = ReceivedStatus(item, parse_status(item.data, limits=self.limits))
                else:
                    cached = ReceivedDocument(item, *parse_package(item.data, limits=self.limits))
            except PackageInvalid as exc:
                cached = kind(item, None, problems=exc.problems)
            with self._desk_lock:
                self._read_cache[key] = cached
        return replace(cached, item=item)


def _response_for(original: EdocEnvelope) -> ResponseFor:
    """``ResponseFor`` naming ``original`` (its sender, số/ký hiệu, date and DocumentId)."""
    return ResponseFor(
        original.sender.organ_id, original.code, original.promulgation_date, original.document_id
    )
