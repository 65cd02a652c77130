"""How dossiers of each shipped procedure travel through its BPMN, for the seeder: which user tasks
follow which, where a supplement may be asked, which variant switches the legal deadline.

Element ids are the BPMN's; `check` refuses a template whose ids the published version lacks, so a
remodelled procedure fails loudly instead of seeding impossible histories.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.procedures.graph import FlowGraph


@dataclass(frozen=True)
class Variant:
    share: float
    steps: tuple[str, ...]
    #: a deadline rule (procedure.json deadline_rules) the variant enters, and at which step (None: at reception)
    rule: str | None = None
    rule_at: str | None = None


@dataclass(frozen=True)
class Template:
    slug: str
    #: share of all dossiers
    weight: float
    #: "xa" (any commune) or the provincial agency number that handles it
    handled_by: str | int
    #: share submitted online at the start of the period (grows over it)
    online: float
    variants: tuple[Variant, ...]
    #: online dossiers pay the fee on the national platform before reception (once it is connected)
    pays_online: bool = False
    supplement: str | None = "bo_sung_ho_so"
    reception: str = "tiep_nhan"
    returning: str = "tra_ket_qua"
    #: chance that the step after reception asks for a supplement / the last step refuses
    asks_in_review: float = 0.05
    refuses_after_review: float = 0.015
    extra_elements: tuple[str, ...] = field(default=())

    def elements(self) -> set[str]:
        ids = {self.reception, self.returning, *self.extra_elements}
        ids |= {self.supplement} if self.supplement else set()
        ids |= {"thanh_toan_le_phi"} if self.pays_online else set()
        for variant in self.variants:
            ids |= set(variant.steps)
        return ids


TEMPLATES: tuple[Template, ...] = (
    Template("chung-thuc-ban-sao", 0.36, "xa", 0.12, (
        Variant(0.9, ("lap_loi_chung", "ky_chung_thuc")),
        Variant(0.1, ("lap_loi_chung", "ky_chung_thuc"), rule="nhieu_trang"),
    ), supplement=None, asks_in_review=0.0, refuses_after_review=0.005),
    Template("dang-ky-khai-sinh", 0.2, "xa", 0.45, (
        Variant(0.75, ("kiem_tra", "ky_giay_khai_sinh")),
        Variant(0.25, ("kiem_tra", "ky_giay_khai_sinh", "dang_ky_thuong_tru", "cap_the_bhyt"), rule="lien_thong"),
    ), asks_in_review=0.03),
    Template("dang-ky-ket-hon", 0.07, "xa", 0.35, (
        Variant(0.85, ("tham_dinh", "ky_gcn")),
        Variant(0.15, ("tham_dinh", "xac_minh", "ky_gcn"), rule="xac_minh", rule_at="xac_minh"),
    ), returning="trao_gcn", asks_in_review=0.03),
    Template("dang-ky-ho-kinh-doanh", 0.12, "xa", 0.45, (
        Variant(1.0, ("tham_dinh", "phe_duyet")),
    ), pays_online=True, asks_in_review=0.08, refuses_after_review=0.02),
    Template("cap-giay-phep-xay-dung", 0.05, "xa", 0.3, (
        Variant(1.0, ("tham_dinh", "lay_y_kien", "du_thao", "phe_duyet")),
    ), pays_online=True, asks_in_review=0.12, refuses_after_review=0.04),
    Template("cap-phieu-ly-lich-tu-phap", 0.2, 22, 0.55, (
        Variant(0.85, ("tra_cuu", "lap_phieu", "phe_duyet")),
        Variant(0.15, ("tra_cuu", "cung_cap_thong_tin", "lap_phieu", "phe_duyet"), rule="xac_minh",
                rule_at="cung_cap_thong_tin"),
    ), pays_online=True, asks_in_review=0.03, refuses_after_review=0.01),
)


def check(template: Template, graph: FlowGraph) -> None:
    """Refuse a template naming user tasks the procedure's BPMN does not have."""
    missing = sorted(e for e in template.elements() if graph.nodes.get(e) is None
                     or graph.nodes[e].kind != "userTask")
    if missing:
        raise ValueError(f"{template.slug}: the published BPMN has no user task {', '.join(missing)}; "
                         "update engine/seeding/templates.py")
