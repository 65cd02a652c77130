"""marshmallow schemas at the API boundary: what comes in is checked, what goes out is shaped."""

from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import EXCLUDE, RAISE, Schema, ValidationError, fields, validate

from engine.services.inbox import DUE_STATES, SORTS
from engine.services.substitutions import OFFICIAL_ROLES
from engine.statuses import STATUSES

LENGTH = "Độ dài phải từ {min} đến {max} ký tự."
MAX_LENGTH = "Không được dài quá {max} ký tự."
ONE_OF = "Phải là một trong: {choices}."
#: Row ids are BIGINT: a larger number names nothing, and the database driver could not even bind it.
MAX_ID = 2**63 - 1
ID = validate.Range(min=1, max=MAX_ID, error="Mã không hợp lệ (số nguyên dương).")
#: The tracking proof is a phone number or an ID number: printable ASCII. Anything else cannot match,
#: and is refused here rather than compared (hmac.compare_digest refuses non-ASCII text).
PROOF = [validate.Length(min=4, max=64, error=LENGTH),
         validate.Regexp(r"^[\x20-\x7e]*$", error="Chỉ gồm chữ số, chữ cái không dấu và dấu + - . ( ) khoảng trắng.")]


class Strict(Schema):
    class Meta:
        unknown = RAISE


class TokenRequest(Strict):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64, error=LENGTH))
    password = fields.String(required=True, validate=validate.Length(min=1, max=256, error=LENGTH))


class TokenResponse(Schema):
    token = fields.String(required=True)
    token_type = fields.String(required=True)
    role = fields.String(required=True)


class ErrorResponse(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.List(fields.String()))
    problems = fields.List(fields.String())


class Deadline(Schema):
    value = fields.Float()
    unit = fields.String()


class FormSchema(Schema):
    schema = fields.Dict(required=True)
    ui_schema = fields.Dict(required=True)


class ProcedureSummary(Schema):
    slug = fields.String(required=True)
    code = fields.String(required=True)
    name = fields.String(required=True)
    level = fields.String(allow_none=True)
    field = fields.String(allow_none=True)
    agency = fields.String(allow_none=True)
    deadline = fields.Nested(Deadline, allow_none=True)
    fee = fields.Integer(allow_none=True)
    version = fields.Integer(required=True)


class ProcedureDetail(ProcedureSummary):
    fees = fields.List(fields.Dict())
    required_documents = fields.List(fields.Dict())
    start_form = fields.Nested(FormSchema, allow_none=True)


class Applicant(Strict):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255, error=LENGTH))
    id_number = fields.String(allow_none=True, validate=validate.Length(max=32, error=MAX_LENGTH))
    phone = fields.String(allow_none=True, validate=validate.Length(max=32, error=MAX_LENGTH))
    email = fields.Email(allow_none=True)
    kind = fields.Integer(load_default=1, validate=validate.OneOf(
        [1, 2], error="Loại đối tượng phải là 1 (công dân) hoặc 2 (doanh nghiệp)."))


class DossierCreate(Strict):
    procedure = fields.String(required=True, validate=validate.Length(min=1, max=128, error=LENGTH))
    applicant = fields.Nested(Applicant, required=True)
    data = fields.Dict(keys=fields.String(), load_default=dict)


class Milestone(Schema):
    at = fields.String()
    text = fields.String()
    status = fields.String()


class HistoryItem(Schema):
    seq = fields.Integer()
    kind = fields.String()
    at = fields.DateTime()
    actor = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    data = fields.Dict()


class RatingOut(Schema):
    score = fields.Integer(required=True, metadata={"description": "1 (rất không hài lòng) đến 5 (rất hài lòng)"})
    comment = fields.String(allow_none=True)
    created_at = fields.DateTime(required=True)


class DossierOut(Schema):
    class Meta:
        unknown = EXCLUDE

    code = fields.String(required=True)
    procedure_code = fields.String()
    procedure_name = fields.String()
    procedure_version = fields.Integer()
    status = fields.String(required=True)
    status_label = fields.String()
    portal_status = fields.Integer()
    channel = fields.String()
    applicant_name = fields.String()
    agency_code = fields.String()
    submitted_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    timeliness = fields.String(allow_none=True)
    new_appointment_at = fields.DateTime(allow_none=True)
    milestones = fields.List(fields.Nested(Milestone))
    history = fields.List(fields.Nested(HistoryItem))
    rating = fields.Nested(RatingOut, allow_none=True)
    rating_open = fields.Boolean(metadata={"description": "đã có kết quả và chưa được đánh giá"})


class AttachmentOut(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    filename = fields.String(required=True)
    content_type = fields.String(required=True)
    size = fields.Integer(required=True)
    sha256 = fields.String(required=True)
    created_at = fields.DateTime(required=True)


class CalendarExceptionIn(Strict):
    kind = fields.String(required=True, validate=validate.OneOf(
        ["off", "working"], error="Loại ngày phải là 'off' (nghỉ) hoặc 'working' (làm việc)."))
    note = fields.String(load_default="", validate=validate.Length(max=255, error=MAX_LENGTH))


class CalendarExceptionOut(Schema):
    day = fields.Date(required=True)
    kind = fields.String(required=True)
    label = fields.String(required=True)
    note = fields.String(required=True)
    created_by = fields.String(allow_none=True)


class VerificationOut(Schema):
    signed = fields.Boolean(required=True)
    intact = fields.Boolean(required=True)
    trusted = fields.Boolean(required=True)
    valid = fields.Boolean(required=True)
    signer_name = fields.String(allow_none=True)
    signer_organisation = fields.String(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    reason = fields.String(allow_none=True)
    errors = fields.List(fields.String(), required=True)
    verification_code = fields.String(required=True)
    dossier_code = fields.String(allow_none=True)


class TrackOut(Schema):
    code = fields.String(required=True)
    procedure_name = fields.String()
    status = fields.String(required=True)
    status_label = fields.String()
    due_at = fields.DateTime(allow_none=True)
    milestones = fields.List(fields.Nested(Milestone))
    rating = fields.Nested(RatingOut, allow_none=True)
    rating_open = fields.Boolean()


class TaskOut(Schema):
    id = fields.String(required=True)
    title = fields.String()
    bpmn_id = fields.String()
    role = fields.String()
    agency_code = fields.String(allow_none=True)
    state = fields.String()
    dossier_code = fields.String()
    procedure_name = fields.String()
    applicant_name = fields.String()
    dossier_status = fields.String()
    assignee_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    due_at = fields.DateTime(allow_none=True)
    due_state = fields.String(allow_none=True,
                              metadata={"description": "on_track | due_soon | overdue (công việc đang mở)"})
    on_behalf_of = fields.Integer(allow_none=True, metadata={
        "description": "cán bộ vắng mặt mà người xem đang làm thay ở công việc này"})


class TaskDetail(TaskOut):
    form = fields.Nested(FormSchema, allow_none=True)
    data = fields.Dict(allow_none=True)
    instructions = fields.String(allow_none=True)


class TaskComplete(Strict):
    data = fields.Dict(keys=fields.String(), required=True)


class TrackQuery(Strict):
    secret = fields.String(required=True, validate=PROOF)


class InboxQuery(Strict):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200, error="Phải từ {min} đến {max}."))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=1_000_000, error="Phải từ {min} đến {max}."))
    procedure = fields.String(validate=validate.Length(min=1, max=128, error=LENGTH))
    status = fields.String(validate=validate.OneOf(sorted(STATUSES), error="Trạng thái hồ sơ không hợp lệ."))
    due = fields.String(validate=validate.OneOf(DUE_STATES, error=ONE_OF))
    search = fields.String(data_key="q", validate=validate.Length(min=1, max=100, error=LENGTH))
    sort = fields.String(load_default="due_at", validate=validate.OneOf(SORTS, error=ONE_OF))


# --- satisfaction ratings ------------------------------------------------------------------------

SCORE = "Mức độ hài lòng phải là số nguyên từ 1 đến 5."


class RatingIn(Strict):
    score = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=5, error=SCORE))
    comment = fields.String(allow_none=True, validate=validate.Length(max=1000, error=MAX_LENGTH))


class PublicRatingIn(RatingIn):
    secret = fields.String(required=True, validate=PROOF, metadata={
        "description": "số điện thoại hoặc số định danh đã khai khi nộp hồ sơ"})


class DossierRatingOut(RatingOut):
    dossier_code = fields.String(required=True)


# --- drafts --------------------------------------------------------------------------------------

STEP = "Bước phải là số nguyên không âm."


class DraftIn(Strict):
    procedure = fields.String(required=True, validate=validate.Length(min=1, max=128, error=LENGTH))
    step = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1000, error=STEP))
    data = fields.Dict(keys=fields.String(), load_default=dict, metadata={
        "description": "giá trị biểu mẫu đang điền (chưa kiểm tra); khóa 'applicant' chứa thông tin người nộp"})


class DraftUpdate(Strict):
    step = fields.Integer(load_default=0, strict=True, validate=validate.Range(min=0, max=1000, error=STEP))
    data = fields.Dict(keys=fields.String(), required=True)


class DraftSummary(Schema):
    id = fields.Integer(required=True)
    procedure = fields.String(required=True)
    procedure_name = fields.String(required=True)
    step = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class DraftOut(DraftSummary):
    data = fields.Dict(required=True)


# --- the workspace: notifications, reassigning, substitutes --------------------------------------


class InboxSummaryOut(Schema):
    total = fields.Integer(required=True)
    new = fields.Integer(required=True, metadata={"description": "công việc mới từ lần xem trước"})
    overdue = fields.Integer(required=True)
    due_soon = fields.Integer(required=True, metadata={"description": "đến hạn trong một ngày làm việc tới"})
    seen_at = fields.DateTime(allow_none=True)


def in_utc_range(value: datetime) -> None:
    """An aware time must have a UTC equivalent: '0001-01-01T00:00+07:00' has none, and comparing it
    with another time raises OverflowError."""
    try:
        value.astimezone(UTC)
    except OverflowError as exc:
        raise ValidationError("Thời điểm nằm ngoài khoảng cho phép.") from exc


class InboxSeenIn(Strict):
    until = fields.AwareDateTime(default_timezone=UTC, allow_none=True, validate=in_utc_range, metadata={
        "description": "thời điểm hộp công việc được hiển thị (mặc định: bây giờ)"})


class ReassignIn(Strict):
    user_id = fields.Integer(required=True, strict=True, validate=ID)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500, error=LENGTH))


class SubstitutionIn(Strict):
    user_id = fields.Integer(required=True, strict=True, validate=ID, metadata={"description": "cán bộ vắng mặt"})
    substitute_id = fields.Integer(required=True, strict=True, validate=ID, metadata={"description": "cán bộ làm thay"})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=500, error=LENGTH))


class SubstitutionOut(Schema):
    id = fields.Integer(required=True)
    user_id = fields.Integer(required=True)
    user_name = fields.String(required=True)
    substitute_id = fields.Integer(required=True)
    substitute_name = fields.String(required=True)
    agency_code = fields.String(allow_none=True)
    role = fields.String(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    reason = fields.String(required=True)
    created_by = fields.Integer(required=True)
    created_at = fields.DateTime(required=True)
    cancelled_at = fields.DateTime(allow_none=True)
    active = fields.Boolean(required=True)


class SubstitutionQuery(Strict):
    agency = fields.String(validate=validate.Length(min=1, max=32, error=LENGTH))
    include_past = fields.Boolean(load_default=False)


class OfficialsQuery(Strict):
    agency = fields.String(validate=validate.Length(min=1, max=32, error=LENGTH))
    role = fields.String(validate=validate.OneOf(OFFICIAL_ROLES, error=ONE_OF))


class OfficialOut(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    full_name = fields.String(required=True)
    role = fields.String(required=True)
    agency_code = fields.String(allow_none=True)
    standing_in_for = fields.List(fields.Integer(), required=True)
    substituted_by = fields.List(fields.Integer(), required=True)
