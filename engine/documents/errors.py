"""Domain errors of the documents room (rendering official forms, storing files)."""

from __future__ import annotations

from engine.errors import MotcuaError, NotFound, Unavailable


class DocumentError(MotcuaError):
    message_vi = "Không lập được văn bản."


class UnknownDocumentKind(DocumentError, NotFound):
    message_vi = "Không có mẫu văn bản này."


class DocumentContextError(DocumentError):
    """The context lacks a value the template needs, or holds one it cannot print."""

    message_vi = "Thiếu hoặc sai dữ liệu để lập văn bản."


class StoredFileNotFound(NotFound):
    message_vi = "Không tìm thấy tệp."


class StoredFileCorrupt(MotcuaError):
    message_vi = "Tệp lưu trữ bị hỏng."


class InvalidDigest(MotcuaError, ValueError):
    """A file id that is not a sha256 hex digest (and so could be a path)."""

    message_vi = "Mã tệp không hợp lệ."


class StoreUnavailable(Unavailable):
    """The file store (an object store's endpoint) did not answer, or refused our credentials."""

    message_vi = ("Kho lưu trữ tệp tạm thời không truy cập được; yêu cầu chưa được thực hiện và dữ liệu đã lưu "
                  "không bị ảnh hưởng. Vui lòng thử lại sau ít phút.")
