// The studio's BPMN editor page (templates/studio/editor.html): bpmn-js's modeler with the properties
// panel, our SpiffWorkflow moddle extension and properties provider, save and lint.
//
// The page gives the addresses in data-* attributes of #studio-editor: data-xml-url (GET the draft's
// editor XML, its revision in the X-Draft-Revision header), data-save-url (POST the XML with that
// revision; the answer gives the next one, or 409 when someone saved the draft in between),
// data-lint-url (GET the findings), data-catalog-url (the selects' values and every label, translated
// by the server) and data-csrf (the session's token).
// Built by web/frontend/build.mjs into static/vendor/studio-editor.js; no inline script, no eval.
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';

import { FindingsView } from './findings';
import motcuaPropertiesProvider from './provider';
import spiffworkflow from './spiffworkflow.json';
import { translateModule, translator } from './translate';

// the properties panel applies typed text this long after the last key; a save waits that long, and a margin
const PANEL_DEBOUNCE_MS = 300;
const INPUT_DEBOUNCE_MS = PANEL_DEBOUNCE_MS + 100;

// the panel's groups shown open: the name and what the engine reads; the rest one click away
const OPEN_GROUPS = Object.fromEntries(['general', 'motcua-lane', 'motcua-form', 'motcua-connector', 'motcua-budget',
  'motcua-dossier', 'motcua-condition', 'timer'].map((id) => [id, { open: true }]));

const FIT_MARGIN = 16;  // px around the diagram when it is fitted into view
const REVISION_HEADER = 'X-Draft-Revision';

async function fetchOk(url, options) {
  const response = await fetch(url, { credentials: 'same-origin', ...options });
  const isJson = (response.headers.get('Content-Type') || '').includes('application/json');
  const body = isJson ? await response.json() : await response.text();
  if (!response.ok) {
    // a page instead of JSON: the session's token or the session itself is gone (e.g. logged out elsewhere)
    const message = isJson && body.message ? body.message : `HTTP ${response.status}`;
    throw Object.assign(new Error(message), { body, status: response.status, isJson });
  }
  return body;
}

// the draft's editor XML and the revision it is at (what a save must name)
async function fetchDiagram(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (!response.ok) {
    const isJson = (response.headers.get('Content-Type') || '').includes('application/json');
    const body = isJson ? await response.json() : null;
    throw Object.assign(new Error(body && body.message ? body.message : `HTTP ${response.status}`),
      { body, status: response.status, isJson });
  }
  return { xml: await response.text(), revision: response.headers.get(REVISION_HEADER) };
}

class Editor {
  constructor(root, catalog, revision) {
    this.root = root;
    this.urls = root.dataset;
    this.revision = revision;  // of the diagram on the server this page's edits started from
    this.conflict = null;      // the server's reason, once a save was refused because of another save
    this.t = translator(catalog.labels);
    this.status = root.querySelector('#studio-status');
    this.lastInput = 0;   // when a panel field was last typed in
    this.changes = 0;     // edits since the page loaded
    this.savedAt = 0;     // the value of `changes` the server has
    this.modeler = new Modeler({
      container: root.querySelector('#studio-canvas'),
      propertiesPanel: { parent: root.querySelector('#studio-panel'), layout: { groups: OPEN_GROUPS } },
      additionalModules: [
        BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, motcuaPropertiesProvider,
        translateModule(catalog.labels),
      ],
      moddleExtensions: { spiffworkflow },
      debounceInput: PANEL_DEBOUNCE_MS,
      motcua: { catalog },
    });
    this.findings = new FindingsView(this.modeler, root.querySelector('#studio-findings'), this.t);
    this.modeler.on('commandStack.changed', (event) => {
      if (event.trigger === 'clear') return;  // importing the diagram
      this.changes += 1;
      // a refused save's reason stays in view: saving again is refused again until the page is reloaded
      if (this.conflict) this.say(this.conflict, true);
      else this.say(this.t('studio.unsaved'));
    });
  }

  say(text, alert = false) {
    this.status.textContent = text;
    this.status.classList.toggle('error', alert);
  }

  get dirty() {
    return this.changes !== this.savedAt;
  }

  async open(xml) {
    await this.modeler.importXML(xml);
    this.fit();
    this.root.classList.add('studio-ready');
  }

  // the whole diagram in view, right of the palette (which floats over the canvas's left edge)
  fit() {
    const canvas = this.modeler.get('canvas');
    const { inner, outer } = canvas.viewbox();
    const palette = this.root.querySelector('.djs-palette');
    const left = (palette ? palette.offsetLeft + palette.offsetWidth : 0) + FIT_MARGIN;
    if (!inner.width || !inner.height) return;
    const scale = Math.min(1, (outer.width - left - FIT_MARGIN) / inner.width,
      (outer.height - 2 * FIT_MARGIN) / inner.height);
    canvas.viewbox({
      x: inner.x - left / scale, y: inner.y - FIT_MARGIN / scale,
      width: outer.width / scale, height: outer.height / scale,
    });
  }

  async lint() {
    const list = this.root.querySelector('#studio-findings');
    list.setAttribute('aria-busy', 'true');
    try {
      const data = await fetchOk(this.urls.lintUrl, { headers: { Accept: 'application/json' } });
      this.findings.show(data.findings);
    } catch (error) {
      this.say(error.message, true);
    } finally {
      list.removeAttribute('aria-busy');
    }
  }

  async save() {
    const button = this.root.querySelector('#studio-save');
    button.disabled = true;
    this.say(this.t('studio.saving'));
    // the panel applies what is typed 300 ms after the last key: let the last keys arrive first
    const wait = this.lastInput + INPUT_DEBOUNCE_MS - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const at = this.changes;
    try {
      const { xml } = await this.modeler.saveXML({ format: true });
      const body = new FormData();
      body.append('csrf_token', this.urls.csrf);
      if (this.revision) body.append('revision', this.revision);
      // a file part: a plain form field is capped far below the engine's BPMN size limit
      body.append('xml', new Blob([xml], { type: 'application/xml' }), 'so-do.bpmn');
      const data = await fetchOk(this.urls.saveUrl, {
        method: 'POST', body, headers: { Accept: 'application/json', 'X-CSRF-Token': this.urls.csrf },
      });
      this.savedAt = at;
      this.revision = String(data.revision);
      this.say(this.dirty ? `${data.message} ${this.t('studio.unsaved')}` : data.message);
      this.findings.show(data.findings);
    } catch (error) {
      if (error.status === 409 && error.isJson) {
        // someone saved the draft after this page loaded it: nothing was stored, and the diagram on
        // the page stays as it is (unsaved, so leaving the page still asks) for the analyst to keep
        this.conflict = this.t('studio.conflict', { reason: error.message });
        this.say(this.conflict, true);
        return;
      }
      let reason = error.message;
      if (error instanceof TypeError) reason = this.t('studio.network');
      else if (error.status && !error.isJson) reason = this.t('studio.sessionLost', { status: error.status });
      this.say(this.t('studio.saveFailed', { reason }), true);
    } finally {
      button.disabled = false;
    }
  }

  // the diagram as it is on the page, as a file: work is never lost to a refused or failed save
  async download() {
    const { xml } = await this.modeler.saveXML({ format: true });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
    link.download = this.urls.downloadName || 'so-do.bpmn';
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  }

  bind() {
    this.root.querySelector('#studio-download').addEventListener('click', () => this.download());
    this.root.querySelector('#studio-panel').addEventListener('input', () => { this.lastInput = Date.now(); });
    this.root.querySelector('#studio-save').addEventListener('click', () => this.save());
    this.root.querySelector('#studio-check').addEventListener('click', () => this.lint());
    document.addEventListener('keydown', (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
        event.preventDefault();
        this.save();
      }
    });
    window.addEventListener('beforeunload', (event) => {
      if (this.dirty) {
        event.preventDefault();
        event.returnValue = this.t('studio.leave');
      }
    });
  }
}

async function boot(root) {
  const status = root.querySelector('#studio-status');
  let editor;
  try {
    const [catalog, diagram] = await Promise.all([
      fetchOk(root.dataset.catalogUrl, { headers: { Accept: 'application/json' } }),
      fetchDiagram(root.dataset.xmlUrl),
    ]);
    editor = new Editor(root, catalog, diagram.revision);
    await editor.open(diagram.xml);
  } catch (error) {
    const t = editor ? editor.t : (text) => text;
    status.textContent = editor ? t('studio.loadFailed', { reason: error.message }) : error.message;
    status.classList.add('error');
    return;
  }
  editor.bind();
  window.motcuaStudio = editor;  // for debugging from the browser's console: the modeler is .modeler
  editor.say('');
  await editor.lint();
}

const root = document.getElementById('studio-editor');
if (root) boot(root);
