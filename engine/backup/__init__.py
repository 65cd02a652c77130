"""Backup and restore (`motcua backup` / `motcua restore`): every table, the file store and a
manifest in one archive; restored into an empty database, a dossier continues where it stood.

Why a logical dump and not the databases' own tools: the same archive serves SQLite (embedded)
and PostgreSQL, either way round, and the restore can check each row count and each file's
sha256 against the manifest before anything is committed.
"""

from engine.backup.archive import FORMAT_VERSION, BackupFailed, RestoreRefused
from engine.backup.dump import BackupResult, backup
from engine.backup.load import RestoreResult, restore

__all__ = ["FORMAT_VERSION", "BackupFailed", "BackupResult", "RestoreRefused", "RestoreResult", "backup",
           "restore"]
