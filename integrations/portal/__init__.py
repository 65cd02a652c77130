"""Connectors to Cổng Dịch vụ công quốc gia (DVCQG): dossier/progress sync and online payment.

* ``dvcqg`` (kind ``portal``): ``sync_dossier``, ``sync_progress`` (fire-and-forget through
  the outbox) and ``lookup_dossier`` (for reconciliation);
* ``dvcqg_payment`` (kind ``payment``): ``init_payment``, ``query_payment``, ``get_receipt``;
  the confirm callback is verified by the web app with :func:`verify_confirm_callback` and
  answered with :func:`confirm_reply`.

Each has a simulator next to it (:mod:`.dvcqg_simulator`, :mod:`.payment_simulator`).
The payload shapes and the HoSo mapping are documented in ``README.md`` beside this file.
"""

from .dvcqg import DvcqgConnector
from .hoso import build_hoso, build_tiendo, record_from_hoso
from .payment import DvcqgPaymentConnector, reference_for
from .payment_signing import ConfirmResult, confirm_reply, sign_fields, verify_confirm_callback

__all__ = [
    "ConfirmResult",
    "DvcqgConnector",
    "DvcqgPaymentConnector",
    "build_hoso",
    "build_tiendo",
    "confirm_reply",
    "record_from_hoso",
    "reference_for",
    "sign_fields",
    "verify_confirm_callback",
]
