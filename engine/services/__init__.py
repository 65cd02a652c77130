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
from engine.services.drafts import DraftView, delete_draft, get_draft, list_drafts, save_draft, submit_draft
from engine.services.inbox import InboxSummary, inbox_summary, mark_inbox_seen
from engine.services.ratings import RatingView, rate_dossier
from engine.services.substitutions import (
    OfficialView,
    SubstitutionView,
    end_substitution,
    list_officials,
    list_substitutions,
    set_substitute,
)
from engine.services.tasks import (
    TaskView,
    claim_task,
    complete_task,
    get_task,
    list_inbox,
    reassign_task,
    unclaim_task,
)

__all__ = [
    "Actor", "authenticate", "actor_from_token", "citizen_from_identity", "create_user", "issue_token",
    "revoke_token",
    "AttachmentView", "DossierView", "list_attachments", "read_attachment", "get_dossier", "list_procedures", "get_procedure", "submit_dossier", "track_dossier",
    "TaskView", "claim_task", "complete_task", "get_task", "list_inbox", "unclaim_task", "reassign_task",
    "InboxSummary", "inbox_summary", "mark_inbox_seen",
    "RatingView", "rate_dossier",
    "DraftView", "save_draft", "get_draft", "list_drafts", "delete_draft", "submit_draft",
    "OfficialView", "SubstitutionView", "set_substitute", "list_substitutions", "end_substitution", "list_officials",
]
