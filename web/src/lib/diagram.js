// Read-only BPMN diagrams with the case's path: completed elements and active tasks marked.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import './diagram.css';
import { api } from './page.js';

const xmlCache = new Map();

/** The BPMN XML of one deployed version (cached per page). */
export async function definitionXml(processKey, version) {
  const key = `${processKey}@${version}`;
  if (!xmlCache.has(key)) {
    xmlCache.set(key, api(`definitions/${encodeURIComponent(processKey)}/versions/${version}`).then((d) => d.xml));
  }
  return xmlCache.get(key);
}

/** A diagram viewer in `container`; `show(xml, marks)` (re)draws it with the marks. */
export function createViewer(container) {
  const viewer = new NavigatedViewer({ container });
  let currentXml = null;
  let marked = [];

  async function show(xml, { done = [], active = [], focus = null } = {}) {
    if (xml !== currentXml) {
      await viewer.importXML(xml);
      currentXml = xml;
      marked = [];
      viewer.get('canvas').zoom('fit-viewport', 'auto');
    }
    const canvas = viewer.get('canvas');
    const registry = viewer.get('elementRegistry');
    for (const [id, marker] of marked) canvas.removeMarker(id, marker);
    marked = [];
    const mark = (id, marker) => {
      if (registry.get(id)) { canvas.addMarker(id, marker); marked.push([id, marker]); }
    };
    done.forEach((id) => mark(id, 'is-done'));
    active.forEach((id) => mark(id, 'is-active'));
    if (focus && registry.get(focus)) mark(focus, 'is-focus');
  }

  return { viewer, show };
}

const trailCache = new Map();

/**
 * GET /api/v1/cases/{id}/trail (cached per page): one entry per process the case went through — its
 * own process first, then the processes it called — `{process_key, version, done: [element ids],
 * active: [element ids], xml}`; `xml` is that process as deployed with the case's version.
 */
export function caseTrail(caseId) {
  if (!trailCache.has(caseId)) trailCache.set(caseId, api(`cases/${caseId}/trail`));
  return trailCache.get(caseId);
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
  if (!xml) xml = await definitionXml(entry.process_key, entry.version);
  await viewerHandle.show(xml, { done: entry.done, active: entry.active, focus });
}
