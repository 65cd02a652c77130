"""What the BPMN editor's selects offer and every text its script shows, translated on the server.

The editor (web/frontend/studio) knows no language and no vocabulary of its own: roles, dossier
statuses, connector operations, the draft's forms, document kinds and budget units come from here,
from the same sources the engine checks against, so a value picked in the browser is one the lint
and the publishing gate accept. Its labels are keyed by bpmn-js's own English strings (its
`translate` service looks them up) or by `studio.*` names for ours; the values go through
Flask-Babel, so the lead's catalog translates them like any page text.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from engine.calendar import UNITS
from engine.documents.render import KINDS
from engine.procedures.validation import ROLES
from engine.statuses import STATUSES
from integrations import registry
from web.filters import status_name


def _role_labels() -> dict[str, str]:
    return {
        "desk": _("Bộ phận một cửa"),
        "specialist": _("Chuyên viên"),
        "leader": _("Lãnh đạo"),
        "applicant": _("Người nộp hồ sơ (công dân, doanh nghiệp)"),
        "analyst": _("Cán bộ nghiệp vụ"),
        "admin": _("Quản trị viên"),
    }


def _document_labels() -> dict[str, str]:
    return {
        "giay-tiep-nhan": _("Giấy tiếp nhận hồ sơ và hẹn trả kết quả"),
        "phieu-yeu-cau-bo-sung": _("Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ"),
        "phieu-tu-choi": _("Phiếu từ chối tiếp nhận, giải quyết hồ sơ"),
        "phieu-xin-loi": _("Phiếu xin lỗi và hẹn lại ngày trả kết quả"),
        "ket-qua": _("Kết quả giải quyết"),
        "phieu-kiem-soat": _("Phiếu kiểm soát quá trình giải quyết hồ sơ"),
        "cong-van": _("Công văn gửi cơ quan khác"),
    }


def _budget_units() -> dict[str, str]:
    return {
        "working_days": _("ngày làm việc"),
        "working_hours": _("giờ làm việc"),
        "days": _("ngày (kể cả ngày nghỉ)"),
        "same_day": _("trong ngày"),
    }


def _parameter_types() -> dict[str, str]:
    return {"str": _("chuỗi (str)"), "int": _("số nguyên (int)"), "any": _("bất kỳ (any)")}


def _bpmn_labels() -> dict[str, str]:
    """bpmn-js, diagram-js and the properties panel: their English source text → ours."""
    return {
        # palette and context pad
        "Activate hand tool": _("Công cụ kéo sơ đồ"),
        "Activate lasso tool": _("Công cụ chọn vùng"),
        "Activate create/remove space tool": _("Công cụ thêm/bớt khoảng trống"),
        "Activate global connect tool": _("Công cụ nối phần tử"),
        "Create start event": _("Thêm sự kiện bắt đầu"),
        "Create intermediate/boundary event": _("Thêm sự kiện trung gian/biên"),
        "Create end event": _("Thêm sự kiện kết thúc"),
        "Create gateway": _("Thêm cổng rẽ nhánh"),
        "Create task": _("Thêm bước xử lý"),
        "Create data object reference": _("Thêm đối tượng dữ liệu"),
        "Create data store reference": _("Thêm kho dữ liệu"),
        "Create expanded sub-process": _("Thêm quy trình con"),
        "Create pool/participant": _("Thêm bể/cơ quan tham gia"),
        "Create group": _("Thêm nhóm"),
        "Append end event": _("Nối sự kiện kết thúc"),
        "Append gateway": _("Nối cổng rẽ nhánh"),
        "Append task": _("Nối bước xử lý"),
        "Append intermediate/boundary event": _("Nối sự kiện trung gian"),
        "Append timer intermediate catch event": _("Nối sự kiện hẹn giờ"),
        "Append message intermediate catch event": _("Nối sự kiện chờ thông điệp"),
        "Append receive task": _("Nối bước chờ nhận"),
        "Add text annotation": _("Thêm ghi chú"),
        "Add lane above": _("Thêm làn phía trên"),
        "Add lane below": _("Thêm làn phía dưới"),
        "Divide into two lanes": _("Chia thành hai làn"),
        "Divide into three lanes": _("Chia thành ba làn"),
        "Change element": _("Đổi loại phần tử"),
        "Delete": _("Xóa"),
        "Connect to other element": _("Nối tới phần tử khác"),
        "Connect using association": _("Nối bằng liên kết"),
        "Align elements": _("Căn thẳng các phần tử"),
        "Distribute elements horizontally": _("Giãn đều theo chiều ngang"),
        "Distribute elements vertically": _("Giãn đều theo chiều dọc"),
        "Search in diagram": _("Tìm trong sơ đồ"),
        "Toggle non-interrupting": _("Bật/tắt không ngắt"),
        # element kinds (replace menu)
        "Task": _("Bước xử lý"),
        "User task": _("Bước do người thực hiện"),
        "Service task": _("Bước gọi hệ thống khác"),
        "Script task": _("Bước chạy kịch bản"),
        "Manual task": _("Bước thủ công"),
        "Send task": _("Bước gửi"),
        "Receive task": _("Bước chờ nhận"),
        "Business rule task": _("Bước áp dụng quy tắc"),
        "Call activity": _("Gọi quy trình khác"),
        "Start event": _("Sự kiện bắt đầu"),
        "End event": _("Sự kiện kết thúc"),
        "Intermediate throw event": _("Sự kiện trung gian"),
        "Timer start event": _("Bắt đầu theo hẹn giờ"),
        "Timer intermediate catch event": _("Sự kiện hẹn giờ"),
        "Timer boundary event": _("Hẹn giờ trên biên (ngắt bước)"),
        "Timer boundary event (non-interrupting)": _("Hẹn giờ trên biên (không ngắt bước)"),
        "Exclusive gateway": _("Cổng chọn một nhánh"),
        "Parallel gateway": _("Cổng song song"),
        "Inclusive gateway": _("Cổng chọn nhiều nhánh"),
        "Event-based gateway": _("Cổng theo sự kiện"),
        "Sequence flow": _("Luồng tuần tự"),
        "Default flow": _("Luồng mặc định"),
        "Conditional flow": _("Luồng có điều kiện"),
        "Sub-process (collapsed)": _("Quy trình con (thu gọn)"),
        "Sub-process (expanded)": _("Quy trình con (mở rộng)"),
        # the properties panel's header: the selected element's kind
        "User Task": _("Bước do người thực hiện"),
        "Service Task": _("Bước gọi hệ thống khác"),
        "Script Task": _("Bước chạy kịch bản"),
        "Manual Task": _("Bước thủ công"),
        "Send Task": _("Bước gửi"),
        "Receive Task": _("Bước chờ nhận"),
        "Call Activity": _("Gọi quy trình khác"),
        "Sub Process": _("Quy trình con"),
        "Start Event": _("Sự kiện bắt đầu"),
        "End Event": _("Sự kiện kết thúc"),
        "Intermediate Throw Event": _("Sự kiện trung gian"),
        "Timer Start Event": _("Bắt đầu theo hẹn giờ"),
        "Timer Intermediate Catch Event": _("Sự kiện hẹn giờ"),
        "Timer Boundary Event": _("Hẹn giờ trên biên (ngắt bước)"),
        "Timer Boundary Event (Non Interrupting)": _("Hẹn giờ trên biên (không ngắt bước)"),
        "Message Intermediate Catch Event": _("Sự kiện chờ thông điệp"),
        "Exclusive Gateway": _("Cổng chọn một nhánh"),
        "Parallel Gateway": _("Cổng song song"),
        "Inclusive Gateway": _("Cổng chọn nhiều nhánh"),
        "Event Based Gateway": _("Cổng theo sự kiện"),
        "Sequence Flow": _("Luồng tuần tự"),
        "Lane": _("Làn (vai trò)"),
        "Participant": _("Cơ quan tham gia"),
        "Process": _("Quy trình"),
        "Collaboration": _("Sơ đồ cộng tác"),
        "Text Annotation": _("Ghi chú"),
        "Data Object Reference": _("Đối tượng dữ liệu"),
        "Data Store Reference": _("Kho dữ liệu"),
        "Group": _("Nhóm"),
        # properties panel
        "General": _("Thông tin chung"),
        "Name": _("Tên"),
        "ID": _("Mã phần tử"),
        "Process name": _("Tên quy trình"),
        "Process ID": _("Mã quy trình"),
        "Participant Name": _("Tên cơ quan tham gia"),
        "Executable": _("Chạy được"),
        "Documentation": _("Mô tả"),
        "Element documentation": _("Mô tả phần tử"),
        "Process documentation": _("Mô tả quy trình"),
        "Timer": _("Hẹn giờ"),
        "Type": _("Loại"),
        "Value": _("Giá trị"),
        "Date": _("Thời điểm (timeDate)"),
        "Duration": _("Khoảng thời gian (timeDuration)"),
        "Cycle": _("Lặp lại (timeCycle)"),
        "<none>": _("(không có)"),
        "Message": _("Thông điệp"),
        "Signal": _("Tín hiệu"),
        "Error": _("Lỗi"),
        "Escalation": _("Chuyển cấp"),
        "Multi-instance": _("Nhiều lượt"),
        "ID must be unique.": _("Mã phần tử phải là duy nhất."),
        "ID must not be empty.": _("Mã phần tử không được để trống."),
        "ID must not contain spaces.": _("Mã phần tử không được chứa dấu cách."),
        "ID must be a valid QName.": _("Mã phần tử chỉ gồm chữ không dấu, số, gạch dưới, bắt đầu bằng chữ."),
        "ID must not contain prefix.": _("Mã phần tử không được có tiền tố."),
        "Select an element to edit its properties.": _("Chọn một phần tử trên sơ đồ để sửa thuộc tính."),
        "Create": _("Thêm"),
        "Create new list item": _("Thêm mục mới"),
        "Delete item": _("Xóa mục"),
        "Toggle list item": _("Mở/đóng mục"),
        "Toggle section": _("Mở/đóng nhóm"),
        "Section contains edits": _("Nhóm có giá trị đã nhập"),
        "Section contains an error": _("Nhóm có lỗi"),
        "<empty>": _("(trống)"),
        "Multiple elements are selected. Select a single element to edit its properties.":
            _("Đang chọn nhiều phần tử. Chọn một phần tử để sửa thuộc tính."),
    }


def _studio_labels() -> dict[str, str]:
    """The editor's own texts (keys `studio.*`, used only by web/frontend/studio)."""
    return {
        "studio.group.lane": _("Vai trò của làn"),
        "studio.role": _("Vai trò thực hiện"),
        "studio.role.none": _("(chưa gán vai trò)"),
        "studio.agency": _("Mã cơ quan thực hiện (chỉ khi cơ quan khác làm bước này, ví dụ 000.00.22.H99)"),
        "studio.group.dossier": _("Hồ sơ khi đến bước này"),
        "studio.dossierStatus": _("Trạng thái hồ sơ"),
        "studio.dossierStatus.none": _("(không đổi trạng thái)"),
        "studio.milestone": _("Mốc hiển thị cho người nộp"),
        "studio.deadlineRule": _("Chuyển sang thời hạn"),
        "studio.deadlineRule.none": _("(giữ thời hạn hiện tại)"),
        "studio.group.documents": _("Văn bản tạo ra khi đến bước này"),
        "studio.group.attachments": _("Văn bản gửi kèm khi gọi hệ thống khác"),
        "studio.group.form": _("Biểu mẫu và hướng dẫn"),
        "studio.form": _("Biểu mẫu"),
        "studio.form.none": _("(không có biểu mẫu)"),
        "studio.form.missing": _("%(name)s (không có trong bản nháp)"),
        "studio.instructions": _("Hướng dẫn cho người thực hiện"),
        "studio.paymentTask": _("Bước chờ nộp lệ phí trực tuyến"),
        "studio.exchangeReply": _("Bước chờ trả lời liên thông qua trục văn bản"),
        "studio.group.budget": _("Thời hạn của bước"),
        "studio.budget.unit": _("Tính thời hạn theo"),
        "studio.budget.none": _("(bước không có thời hạn riêng)"),
        "studio.budget.value": _("Số ngày hoặc số giờ"),
        "studio.budget.invalid": _("Nhập một số lớn hơn 0, ví dụ 0.5."),
        "studio.group.connector": _("Gọi hệ thống khác"),
        "studio.operation": _("Thao tác kết nối"),
        "studio.operation.none": _("(chọn thao tác)"),
        "studio.resultVariable": _("Lưu kết quả vào biến"),
        "studio.group.parameters": _("Tham số gửi đi"),
        "studio.parameter.id": _("Tên tham số"),
        "studio.parameter.type": _("Kiểu"),
        "studio.parameter.value": _("Biểu thức giá trị"),
        "studio.parameter.new": _("(tham số mới)"),
        "studio.group.script": _("Kịch bản"),
        "studio.script": _("Kịch bản Python (chạy hạn chế)"),
        "studio.preScript": _("Kịch bản chạy trước bước"),
        "studio.postScript": _("Kịch bản chạy sau bước"),
        "studio.group.condition": _("Điều kiện đi theo luồng này"),
        "studio.condition": _("Biểu thức điều kiện"),
        "studio.saving": _("Đang lưu…"),
        "studio.saved": _("Đã lưu."),
        "studio.unsaved": _("Có thay đổi chưa lưu."),
        "studio.saveFailed": _("Không lưu được: %(reason)s"),
        "studio.sessionLost": _("máy chủ từ chối (mã %(status)s), có thể phiên đăng nhập đã hết. Hãy bấm «Tải sơ "
                                "đồ đang sửa về máy» để giữ thay đổi, rồi tải lại trang."),
        "studio.network": _("Không kết nối được máy chủ. Thay đổi vẫn còn trên trang; hãy thử lưu lại."),
        "studio.conflict": _("Chưa lưu: %(reason)s Sơ đồ bạn đang sửa vẫn còn nguyên trên trang và chưa được lưu. "
                             "Hãy bấm «Tải sơ đồ đang sửa về máy» để giữ nó trước khi tải lại trang."),
        "studio.loadFailed": _("Không mở được sơ đồ: %(reason)s"),
        "studio.checking": _("Đang kiểm tra…"),
        "studio.findings.none": _("Không có lỗi hay cảnh báo nào."),
        "studio.findings.count": _("%(errors)s lỗi, %(warnings)s cảnh báo, %(infos)s thông tin."),
        "studio.severity.error": _("Lỗi"),
        "studio.severity.warning": _("Cảnh báo"),
        "studio.severity.info": _("Thông tin"),
        "studio.finding.goto": _("Chọn %(name)s trên sơ đồ"),
        "studio.finding.missing": _("(phần tử không còn trên sơ đồ)"),
        "studio.finding.line": _("dòng %(line)s"),
        "studio.leave": _("Sơ đồ có thay đổi chưa lưu. Rời trang?"),
    }


def editor_catalog(package: dict[str, Any] | None) -> dict[str, Any]:
    """Everything the editor's selects and texts need; `package` is the draft's (its forms and
    deadline rules), or None outside a draft."""
    procedure = (package or {}).get("procedure") or {}
    roles = _role_labels()
    documents = _document_labels()
    units = _budget_units()
    return {
        "roles": [{"value": key, "label": roles.get(key, key)} for key in sorted(ROLES, key=list(roles).index)],
        # engine data like the procedures themselves: Vietnamese whatever the page language, key shown
        "statuses": [{"value": s.key, "label": f"{status_name(s.key)} ({s.key})"} for s in STATUSES.values()],
        "operations": [{"value": op, "label": op} for op in registry.operations()],
        "forms": sorted((package or {}).get("forms") or {}),
        "deadline_rules": sorted(procedure.get("deadline_rules") or {}),
        "document_kinds": [{"value": kind, "label": documents.get(kind, kind)} for kind in KINDS],
        "budget_units": [{"value": unit, "label": units.get(unit, unit)} for unit in UNITS],
        "parameter_types": [{"value": key, "label": label} for key, label in _parameter_types().items()],
        "labels": {**_bpmn_labels(), **_studio_labels()},
    }
