"""The service layer: what the web, the CLI, the workers and the tests call. One function, one transaction."""

from engine.services.accounts import (
    Actor,
    actor_from_token,
    authenticate,
    citizen_from_identity,
    create_user,
    issue_token,
    revoke_token,
)
from engine.services.dossiers import (
    AttachmentView,
    DossierView,
    get_dossier,
    get_procedure,
    list_attachments,
    list_procedures,
    read_attachment,
    submit_dossier,
    track_dossier,
)
from engine.services.tasks import TaskView, claim_task, complete_task, get_task, list_inbox, unclaim_task

__all__ = [
    "Actor", "authenticate", "actor_from_token", "citizen_from_identity", "create_user", "issue_token",
    "revoke_token",
    "AttachmentView", "DossierView", "list_attachments", "read_attachment", "get_dossier", "list_procedures", "get_procedure", "submit_dossier", "track_dossier",
    "TaskView", "claim_task", "complete_task", "get_task", "list_inbox", "unclaim_task",
]
