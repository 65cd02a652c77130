"""Domain exceptions raised by the engine; web/ maps each to an HTTP status and a Vietnamese message."""

from __future__ import annotations


class MotcuaError(Exception):
    """Base of every domain error. `message_vi` is what a person reads."""

    message_vi = "Đã xảy ra lỗi."

    def __init__(self, message: str | None = None, *, message_vi: str | None = None) -> None:
        super().__init__(message or self.__class__.__name__)
        if message_vi is not None:
            self.message_vi = message_vi


class NotFound(MotcuaError):
    message_vi = "Không tìm thấy."


class DossierNotFound(NotFound):
    message_vi = "Không tìm thấy hồ sơ."


class TaskNotFound(NotFound):
    message_vi = "Không tìm thấy công việc."


class ProcedureNotFound(NotFound):
    message_vi = "Không tìm thấy thủ tục hành chính."


class Unavailable(MotcuaError):
    """A service the request needs (the file store, say) cannot be reached: nothing was changed, try again."""

    message_vi = "Hệ thống tạm thời không truy cập được một dịch vụ cần thiết; yêu cầu chưa được thực hiện. " \
                 "Vui lòng thử lại sau ít phút."


class AuthenticationFailed(MotcuaError):
    message_vi = "Tên đăng nhập hoặc mật khẩu không đúng."


class Forbidden(MotcuaError):
    message_vi = "Bạn không có quyền thực hiện thao tác này."


class Conflict(MotcuaError):
    message_vi = "Dữ liệu đã bị thay đổi bởi người khác. Vui lòng tải lại và thử lại."


class TaskConflict(Conflict):
    message_vi = "Công việc này vừa được người khác xử lý hoặc nhận. Vui lòng tải lại."


class InvalidInput(MotcuaError):
    """Bad input with per-field messages (`errors`: field path → list of Vietnamese messages)."""

    message_vi = "Dữ liệu không hợp lệ."

    def __init__(self, errors: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message or "invalid input")
        self.errors = errors


class ProcedureInvalid(MotcuaError):
    """A procedure package failed validation; `problems` are located, human-readable lines."""

    message_vi = "Quy trình không hợp lệ."

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class WorkflowError(MotcuaError):
    """The BPMN itself failed at run time (script refused, no gateway path...)."""

    message_vi = "Quy trình gặp lỗi khi chạy."
