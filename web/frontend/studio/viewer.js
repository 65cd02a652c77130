// A read-only BPMN diagram for any page (the test run's path, later a dossier's position):
//
//   <div class="bpmn-viewer" data-xml-url="/…/bpmn" data-marks='{"tiep_nhan": "studio-current"}'
//        data-error="…"></div>
// (no role="img" on it: the diagram can be panned and zoomed, and an img may not hold controls;
// the page lists what the marks say in text beside it)
//
// The XML is fetched from data-xml-url (same origin), drawn to fit, pannable and zoomable, and each
// element named in data-marks gets those CSS classes on the diagram. studio-viewer.css styles
// `studio-path` (went through), `studio-current` (waiting here), `studio-error` and `studio-warning`;
// a page may bring its own classes. data-error is the text shown when the diagram cannot be drawn.
// Viewers added later by htmx are drawn too. Built into static/vendor/studio-viewer.js.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';

const CLASS_NAME = /^[A-Za-z_][\w-]*$/;

function marksOf(element) {
  try {
    const marks = JSON.parse(element.dataset.marks || '{}');
    return marks && typeof marks === 'object' ? marks : {};
  } catch {
    return {};
  }
}

async function draw(element) {
  element.dataset.viewerState = 'loading';
  const viewer = new NavigatedViewer({ container: element });
  try {
    const response = await fetch(element.dataset.xmlUrl, { credentials: 'same-origin' });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    await viewer.importXML(await response.text());
  } catch (error) {
    viewer.destroy();
    const message = document.createElement('p');
    message.className = 'error';
    message.textContent = `${element.dataset.error || 'Không hiển thị được sơ đồ.'} (${error.message})`;
    element.replaceChildren(message);
    element.dataset.viewerState = 'failed';
    return;
  }
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  canvas.zoom('fit-viewport', 'auto');
  for (const [id, classes] of Object.entries(marksOf(element))) {
    if (!registry.get(id)) continue;
    for (const name of String(classes).split(/\s+/)) {
      if (CLASS_NAME.test(name)) canvas.addMarker(id, name);
    }
  }
  element.bpmnViewer = viewer;
  element.dataset.viewerState = 'ready';
  element.dispatchEvent(new CustomEvent('bpmn-viewer:ready', { bubbles: true, detail: { viewer } }));
}

function drawAll(root) {
  const found = root.matches && root.matches('.bpmn-viewer') ? [root] : [];
  found.push(...(root.querySelectorAll ? root.querySelectorAll('.bpmn-viewer') : []));
  for (const element of found) {
    if (!element.dataset.viewerState && element.dataset.xmlUrl) draw(element);
  }
}

drawAll(document);
document.addEventListener('htmx:load', (event) => drawAll(event.target));
