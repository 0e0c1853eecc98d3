// The bpmn-js modeler with the properties panel, our properties provider, the spiffworkflow moddle
// extension and Chinese texts; plus the validation marks (a red outline and a badge on each element
// the server found a problem with).
import Modeler from 'bpmn-js/lib/Modeler';
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from 'bpmn-js-properties-panel';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '@bpmn-io/properties-panel/dist/assets/properties-panel.css';
import CunliaoPropertiesProvider from './CunliaoPropertiesProvider.jsx';
import { TranslateModule } from './translate.js';
import { explainIssue } from './issues.js';
import spiffworkflow from './spiffworkflow.json';

export const moddleExtensions = { spiffworkflow };

const CunliaoPropertiesModule = {
  __init__: ['cunliaoPropertiesProvider'],
  cunliaoPropertiesProvider: ['type', CunliaoPropertiesProvider],
};

export function createModeler(container, propertiesParent) {
  return new Modeler({
    container,
    propertiesPanel: { parent: propertiesParent },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, CunliaoPropertiesModule, TranslateModule],
    moddleExtensions,
  });
}

/** Marks the elements named by validation issues; answers a function that removes the marks. */
export function markIssues(modeler, issues) {
  const canvas = modeler.get('canvas');
  const overlays = modeler.get('overlays');
  const registry = modeler.get('elementRegistry');
  const marked = [];
  const byElement = new Map();
  for (const issue of issues) {
    if (issue.element_id && registry.get(issue.element_id)) {
      if (!byElement.has(issue.element_id)) byElement.set(issue.element_id, []);
      byElement.get(issue.element_id).push(explainIssue(issue.message));
    }
  }
  for (const [id, messages] of byElement) {
    canvas.addMarker(id, 'has-issue');
    marked.push(id);
    const badge = document.createElement('div');
    badge.className = 'issue-badge';
    badge.title = messages.join('\n');
    badge.textContent = String(messages.length);
    badge.dataset.elementId = id;
    overlays.add(id, 'cunliao-issue', { position: { top: -10, right: 10 }, html: badge });
  }
  return () => {
    overlays.remove({ type: 'cunliao-issue' });
    for (const id of marked) if (registry.get(id)) canvas.removeMarker(id, 'has-issue');
  };
}

/** Select an element and bring it into view. */
export function focusElement(modeler, id) {
  const element = modeler.get('elementRegistry').get(id);
  if (!element) return false;
  modeler.get('selection').select(element);
  modeler.get('canvas').scrollToElement(element, { top: 120, bottom: 120, left: 200, right: 200 });
  return true;
}
