// Read-only BPMN diagrams with the case's path: completed elements (and the flows between them) and
// active tasks marked. A whole process fitted into a card is too small to read, so a diagram opens on
// its current step at a readable scale; the whole process is one click away (the toolbar in the
// diagram's corner: current step, whole diagram, zoom in, zoom out).
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import './diagram.css';
import { api, h, t } from './page.js';

const xmlCache = new Map();

/** The BPMN XML of one deployed version (cached per page; designers and auditors may read it). */
export async function definitionXml(processKey, version) {
  const key = `${processKey}@${version}`;
  if (!xmlCache.has(key)) {
    xmlCache.set(key, api(`definitions/${encodeURIComponent(processKey)}/versions/${version}`).then((d) => d.xml));
  }
  return xmlCache.get(key);
}

/** A process's own name in its BPMN (the tab's label), else the fallback. */
export function processName(xml, processKey) {
  if (!xml) return processKey;
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const processes = [...doc.getElementsByTagNameNS('*', 'process')];
  const own = processes.find((node) => node.getAttribute('id') === processKey) || processes[0];
  return (own && own.getAttribute('name')) || processKey;
}

const READABLE = 0.75;   // the scale a step opens at: task labels are legible, a task is ~75 px wide
const SMALLEST = 0.5;    // never smaller than this when framing several steps (a task stays ≥ 50 px)
const LEGIBLE_PX = 44;   // a current step is at least this big on screen (an event is 36 units: zoom in)
const CONTAINERS = new Set(['bpmn:SubProcess', 'bpmn:Participant', 'bpmn:Lane', 'bpmn:Process']);

/** The elements to bring into view: the step in focus, else the open user tasks, else what is active. */
function targets(registry, focus, active) {
  const found = (ids) => ids.map((id) => registry.get(id)).filter((el) => el && !el.waypoints);
  if (focus && registry.get(focus)) return found([focus]);
  const all = found(active).filter((el) => !CONTAINERS.has(el.type) && el.type !== 'bpmn:BoundaryEvent');
  const tasks = all.filter((el) => el.type === 'bpmn:UserTask');
  return tasks.length ? tasks : all.length ? all : found(active);
}

/** A diagram viewer in `container`; `show(xml, marks)` (re)draws it with the marks. */
export function createViewer(container, { controls = true } = {}) {
  const viewer = new NavigatedViewer({ container });
  const canvas = viewer.get('canvas');
  const registry = viewer.get('elementRegistry');
  let currentXml = null;
  let marked = [];
  let focusIds = [];
  let pending = null;   // a view to apply once the container has a size (a hidden tab has none)

  const hasSize = () => container.clientWidth > 0 && container.clientHeight > 0;
  const whenSized = (apply) => {
    if (hasSize()) { pending = null; apply(); } else pending = apply;
  };
  new ResizeObserver(() => {
    if (pending && hasSize()) { const apply = pending; pending = null; apply(); }
  }).observe(container);

  function fit() {
    whenSized(() => canvas.zoom('fit-viewport', 'auto'));
  }

  /** Centre these elements at a readable scale (the whole diagram when there are none). */
  function frame(elements) {
    if (!elements.length) { fit(); return; }
    whenSized(() => {
      canvas.resized();
      const { width, height } = canvas.getSize();
      const box = elements.reduce((b, el) => ({
        x1: Math.min(b.x1, el.x), y1: Math.min(b.y1, el.y),
        x2: Math.max(b.x2, el.x + el.width), y2: Math.max(b.y2, el.y + el.height),
      }), { x1: Infinity, y1: Infinity, x2: -Infinity, y2: -Infinity });
      const pad = 40;
      const fits = Math.min(width / (box.x2 - box.x1 + 2 * pad), height / (box.y2 - box.y1 + 2 * pad));
      const smallest = Math.min(...elements.map((el) => Math.min(el.width, el.height)));
      const scale = Math.max(SMALLEST, Math.min(READABLE, fits), LEGIBLE_PX / smallest);
      const cx = (box.x1 + box.x2) / 2;
      const cy = (box.y1 + box.y2) / 2;
      canvas.viewbox({ x: cx - width / scale / 2, y: cy - height / scale / 2, width: width / scale, height: height / scale });
    });
  }

  function focusCurrent() {
    frame(focusIds.map((id) => registry.get(id)).filter(Boolean));
  }

  function zoomBy(factor) {
    whenSized(() => canvas.zoom(Math.min(4, Math.max(0.1, canvas.zoom() * factor))));
  }

  async function show(xml, { done = [], active = [], focus = null } = {}) {
    if (xml !== currentXml) {
      await viewer.importXML(xml);
      currentXml = xml;
      marked = [];
    }
    for (const [id, marker] of marked) canvas.removeMarker(id, marker);
    marked = [];
    const mark = (id, marker) => {
      if (registry.get(id)) { canvas.addMarker(id, marker); marked.push([id, marker]); }
    };
    done.forEach((id) => mark(id, 'is-done'));
    // a boundary event of an open task is armed (a deadline, a message that may come), not a step
    active.forEach((id) => mark(id, registry.get(id)?.type === 'bpmn:BoundaryEvent' ? 'is-armed' : 'is-active'));
    if (focus && registry.get(focus)) mark(focus, 'is-focus');
    // the path taken: flows from a completed element to a completed or open one
    const reached = new Set([...done, ...active]);
    const finished = new Set(done);
    registry.filter((el) => el.type === 'bpmn:SequenceFlow' && el.source && el.target
      && finished.has(el.source.id) && reached.has(el.target.id)).forEach((flow) => mark(flow.id, 'is-done'));
    focusIds = targets(registry, focus, active).map((el) => el.id);
    focusCurrent();
  }

  if (controls) {
    const button = (label, title, onclick, cls) => h('button', { type: 'button', class: cls, title, 'aria-label': title, onclick }, label);
    container.classList.add('has-diagram-tools');
    container.append(h('div', { class: 'diagram-tools', role: 'toolbar', 'aria-label': t('Diagram view') },
      button(t('Current step'), t('Centre the current step'), focusCurrent, 'diagram-focus'),
      button(t('Whole diagram'), t('Show the whole diagram'), fit, 'diagram-fit'),
      button('+', t('Zoom in'), () => zoomBy(1.25), 'diagram-zoom-in'),
      button('−', t('Zoom out'), () => zoomBy(0.8), 'diagram-zoom-out')));
  }

  return { viewer, show, fit, focusCurrent };
}

const trailCache = new Map();

/**
 * GET /api/v1/cases/{id}/trail (cached per page): one entry per process the case went through — its
 * own process first, then the processes it called — `{process_key, version, done: [element ids],
 * active: [element ids], xml}`; `xml` is that process as deployed with the case's version. Anyone
 * who may read the case may read it (a department liaison sees the case whistled to it).
 */
export function caseTrail(caseId, { fresh = false } = {}) {
  if (fresh || !trailCache.has(caseId)) {
    const pending = api(`cases/${caseId}/trail`);
    pending.catch(() => trailCache.delete(caseId));
    trailCache.set(caseId, pending);
  }
  return trailCache.get(caseId);
}

/** The process a user should see first: the deepest one with open work, else the case's own. */
export function workingEntry(trail) {
  const withWork = trail.filter((entry) => entry.active && entry.active.length);
  return withWork.length ? withWork[withWork.length - 1] : trail[0];
}

/**
 * Draw one trail entry's process, marked with what the case did in it. Entries from
 * `history?at=N` carry no XML: pass `caseId` and the XML comes from the case's trail.
 */
export async function showTrail(viewerHandle, entry, focus = null, caseId = null) {
  let xml = entry.xml;
  if (!xml && caseId !== null) {
    const found = (await caseTrail(caseId)).find((e) => e.process_key === entry.process_key);
    xml = found && found.xml;
  }
  if (!xml) return false;
  await viewerHandle.show(xml, { done: entry.done, active: entry.active, focus });
  return true;
}
