"""Notification connectors (kind ``notify``): messages to citizens and officials.

Notifications never make the workflow wait: a failed notification is retried by the
outbox and, at worst, becomes an incident; it never fails the dossier step.
"""

from .email import EmailConnector, message_id_for
from .sms import SmsConnector

__all__ = ["EmailConnector", "SmsConnector", "message_id_for"]
