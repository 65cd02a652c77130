// The lint findings (GET …/kiem-tra, or the answer to a save): a list under the diagram, each finding
// that names an element a button selecting and showing it, and the elements with errors or warnings
// marked on the diagram (a coloured outline and a badge with the count).
const MARKERS = { error: 'studio-finding-error', warning: 'studio-finding-warning' };
const OVERLAY = 'studio-finding';
const RANK = { error: 0, warning: 1, info: 2 };

function elementName(element) {
  const bo = element.businessObject;
  return (bo && bo.name) || element.id;
}

export class FindingsView {
  constructor(modeler, container, translate) {
    this.modeler = modeler;
    this.container = container;
    this.translate = translate;
    this.marked = [];
  }

  select(id) {
    const element = this.modeler.get('elementRegistry').get(id);
    if (!element) return false;
    this.modeler.get('canvas').scrollToElement(element);
    this.modeler.get('selection').select(element);
    return true;
  }

  clearMarks() {
    const canvas = this.modeler.get('canvas');
    for (const [id, marker] of this.marked) canvas.removeMarker(id, marker);
    this.marked = [];
    this.modeler.get('overlays').remove({ type: OVERLAY });
  }

  mark(findings) {
    this.clearMarks();
    const registry = this.modeler.get('elementRegistry');
    const canvas = this.modeler.get('canvas');
    const byElement = new Map();
    for (const finding of findings) {
      if (!finding.element_id || !MARKERS[finding.severity] || !registry.get(finding.element_id)) continue;
      const list = byElement.get(finding.element_id) || [];
      list.push(finding);
      byElement.set(finding.element_id, list);
    }
    for (const [id, list] of byElement) {
      const worst = list.some((f) => f.severity === 'error') ? 'error' : 'warning';
      canvas.addMarker(id, MARKERS[worst]);
      this.marked.push([id, MARKERS[worst]]);
      if (registry.get(id).waypoints) continue;  // a flow: the outline is enough
      const badge = document.createElement('span');
      badge.className = `studio-finding-badge studio-finding-badge-${worst}`;
      badge.textContent = String(list.length);
      badge.title = list.map((f) => f.message).join('\n');
      badge.setAttribute('aria-hidden', 'true');  // the list below says the same to everyone
      this.modeler.get('overlays').add(id, OVERLAY, { position: { top: -10, right: 10 }, html: badge });
    }
  }

  show(findings) {
    const t = this.translate;
    const sorted = [...findings].sort((a, b) => (RANK[a.severity] ?? 3) - (RANK[b.severity] ?? 3));
    const registry = this.modeler.get('elementRegistry');
    const counts = { error: 0, warning: 0, info: 0 };
    for (const f of findings) counts[f.severity] = (counts[f.severity] || 0) + 1;
    const summary = document.createElement('p');
    summary.className = 'studio-findings-summary';
    summary.textContent = findings.length
      ? t('studio.findings.count', { errors: counts.error, warnings: counts.warning, infos: counts.info })
      : t('studio.findings.none');
    const list = document.createElement('ul');
    list.className = 'studio-findings-list';
    for (const finding of sorted) {
      const item = document.createElement('li');
      item.className = `studio-finding studio-finding-${finding.severity}`;
      const severity = document.createElement('strong');
      severity.textContent = `${t(`studio.severity.${finding.severity}`)}: `;
      item.append(severity);
      const element = finding.element_id && registry.get(finding.element_id);
      if (element) {
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'link studio-finding-goto';
        button.dataset.elementId = finding.element_id;
        button.textContent = finding.message;
        button.title = t('studio.finding.goto', { name: elementName(element) });
        button.addEventListener('click', () => this.select(finding.element_id));
        item.append(button);
      } else {
        item.append(document.createTextNode(finding.message));
      }
      const where = [finding.file, finding.line ? t('studio.finding.line', { line: finding.line }) : null, finding.element_id].filter(Boolean);
      if (where.length) {
        const place = document.createElement('span');
        place.className = 'studio-finding-where';
        place.textContent = ` (${where.join(', ')}${finding.element_id && !element ? ` ${t('studio.finding.missing')}` : ''})`;
        item.append(place);
      }
      list.append(item);
    }
    this.container.replaceChildren(summary, list);
    this.mark(findings);
  }
}
