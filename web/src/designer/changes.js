// What changed between two versions of a process, as a designer asks it: per element, its name, its
// lane (the role that does it), our properties (form, time limit, returnable, …), scripts, conditions,
// timers and called processes — before and after, in the UI's language. An element whose id changed
// but that stands where it stood, of the same type, is a rename, not a removal and an addition; an
// element that only moved or was resized is "moved", and a label pushed about by a new name is not.
import { t } from '../lib/page.js';
import { catalog } from './catalog.js';

const OUR_PROPERTIES = () => ({
  formKey: t('Form'), slaKey: t('Time limit (SLA)'), dueIn: t('Due in'), returnable: t('Returnable'),
  unitVariable: t('Unit variable'), priority: t('Priority'),
});
const TYPES = () => ({
  'bpmn:UserTask': t('User task'), 'bpmn:ScriptTask': t('Script task'), 'bpmn:ServiceTask': t('Service task'),
  'bpmn:BusinessRuleTask': t('Business rule task'), 'bpmn:CallActivity': t('Call activity'),
  'bpmn:SubProcess': t('Sub process'), 'bpmn:ExclusiveGateway': t('Exclusive gateway'),
  'bpmn:ParallelGateway': t('Parallel gateway'), 'bpmn:InclusiveGateway': t('Inclusive gateway'),
  'bpmn:EventBasedGateway': t('Event-based gateway'), 'bpmn:StartEvent': t('Start event'), 'bpmn:EndEvent': t('End event'),
  'bpmn:IntermediateCatchEvent': t('Intermediate event'), 'bpmn:IntermediateThrowEvent': t('Intermediate event'),
  'bpmn:BoundaryEvent': t('Boundary event'), 'bpmn:SequenceFlow': t('Sequence flow'), 'bpmn:Lane': t('Lane'),
  'bpmn:Participant': t('Participant'), 'bpmn:TextAnnotation': t('Annotation'), 'bpmn:Task': t('Task'),
  'bpmn:ReceiveTask': t('Receive task'), 'bpmn:SendTask': t('Send task'), 'bpmn:ManualTask': t('Manual task'),
});

export function typeName(type) {
  return TYPES()[type] || (type || '').replace(/^bpmn:/, '');
}

function extensions(bo) {
  return ((bo.extensionElements && bo.extensionElements.values) || []);
}

/** A property's value as the properties panel offers it: a form or SLA rule by its name too. */
function shown({ name, value }) {
  if (name === 'returnable') return value === 'true' ? t('Yes') : t('No');
  const known = name === 'formKey' ? catalog.forms.find((f) => f.key === value)
    : name === 'slaKey' ? catalog.slaKeys.find((k) => k.key === value) : null;
  const title = known && (known.title || known.name);
  return title ? `${title}（${value}）` : value;
}

function bodyOf(expression) {
  return expression ? (expression.body || '').trim() : '';
}

/** label → value of everything a designer may have changed on the element. */
function facts(element, laneOf) {
  const bo = element.businessObject;
  const out = new Map();
  const put = (label, value) => { if (value !== undefined && value !== null && value !== '') out.set(label, String(value)); };
  put(t('Element name'), bo.name);
  if (laneOf.has(element.id)) put(t('Lane (role)'), laneOf.get(element.id));
  const names = OUR_PROPERTIES();
  if (element.type === 'bpmn:UserTask') put(names.returnable, t('No'));
  for (const extension of extensions(bo)) {
    if (extension.$type === 'spiffworkflow:Properties') {
      for (const property of extension.properties || []) put(names[property.name] || property.name, shown(property));
    } else if (extension.$type === 'spiffworkflow:PreScript') put(t('Pre-script'), extension.value);
    else if (extension.$type === 'spiffworkflow:PostScript') put(t('Post-script'), extension.value);
    else if (extension.$type === 'spiffworkflow:CalledDecisionId') put(t('Decision table'), extension.value);
    else if (extension.$type === 'spiffworkflow:MessagePayload') put(t('Message payload'), extension.value);
  }
  put(t('Script'), bo.script && bo.script.trim());
  put(t('Condition'), bodyOf(bo.conditionExpression));
  put(t('Called process'), bo.calledElement);
  put(t('Default flow'), bo.default && bo.default.id);
  for (const definition of bo.eventDefinitions || []) {
    const timer = bodyOf(definition.timeDuration) || bodyOf(definition.timeDate) || bodyOf(definition.timeCycle);
    if (timer) put(t('Timer'), timer);
    if (definition.messageRef) put(t('Message'), definition.messageRef.name || definition.messageRef.id);
  }
  if (bo.loopCharacteristics) {
    put(t('Multi-instance over'), bo.loopCharacteristics.loopDataInputRef && bo.loopCharacteristics.loopDataInputRef.id);
    put(t('Multi-instance count'), bodyOf(bo.loopCharacteristics.loopCardinality));
  }
  if (bo.documentation && bo.documentation.length) put(t('Documentation'), bo.documentation.map((d) => d.text).join('\n'));
  if (bo.sourceRef && bo.targetRef) put(t('Connects'), `${bo.sourceRef.id} → ${bo.targetRef.id}`);
  return out;
}

function elementsOf(registry) {
  const laneOf = new Map();
  for (const lane of registry.filter((el) => el.type === 'bpmn:Lane')) {
    for (const node of lane.businessObject.flowNodeRef || []) laneOf.set(node.id, lane.businessObject.name || lane.id);
  }
  const elements = new Map(registry.filter((el) => el.type !== 'label' && el.parent).map((el) => [el.id, el]));
  return { elements, laneOf };
}

function place(element) {
  return element.waypoints ? element.waypoints.map((p) => `${Math.round(p.x)},${Math.round(p.y)}`).join(' ')
    : [element.x, element.y, element.width, element.height].map(Math.round).join(',');
}

function factChanges(before, after) {
  const labels = [...new Set([...before.keys(), ...after.keys()])];
  return labels.filter((label) => before.get(label) !== after.get(label))
    .map((label) => ({ label, before: before.get(label) ?? '', after: after.get(label) ?? '' }));
}

/**
 * The differences between the diagrams in two element registries:
 * [{kind: added|removed|changed|renamed|moved, id, leftId, name, type, changes: [{label, before, after}]}].
 */
export function compareRegistries(leftRegistry, rightRegistry) {
  const left = elementsOf(leftRegistry);
  const right = elementsOf(rightRegistry);
  const entries = [];
  const unmatchedLeft = [...left.elements.values()].filter((el) => !right.elements.has(el.id));
  const addedRight = [...right.elements.values()].filter((el) => !left.elements.has(el.id));
  for (const [id, after] of right.elements) {
    const before = left.elements.get(id);
    if (!before) continue;
    const changes = factChanges(facts(before, left.laneOf), facts(after, right.laneOf));
    const moved = place(before) !== place(after);
    if (!changes.length && !moved) continue;
    const renamed = changes.some((c) => c.label === t('Element name'));
    entries.push({ kind: renamed ? 'renamed' : changes.length ? 'changed' : 'moved', id, leftId: id,
      name: after.businessObject.name || before.businessObject.name || '', type: after.type,
      changes: moved && changes.length ? [...changes, { label: t('Position'), before: '', after: t('moved') }] : changes });
  }
  for (const after of addedRight) {
    // a new id where an element of the same type stood: the old one, renamed
    const twin = unmatchedLeft.find((before) => before.type === after.type && place(before) === place(after));
    if (twin) {
      unmatchedLeft.splice(unmatchedLeft.indexOf(twin), 1);
      entries.push({ kind: 'renamed', id: after.id, leftId: twin.id, name: after.businessObject.name || '', type: after.type,
        changes: [{ label: t('ID'), before: twin.id, after: after.id },
          ...factChanges(facts(twin, left.laneOf), facts(after, right.laneOf))] });
    } else {
      entries.push({ kind: 'added', id: after.id, name: after.businessObject.name || '', type: after.type, changes: [] });
    }
  }
  for (const before of unmatchedLeft) {
    entries.push({ kind: 'removed', id: before.id, leftId: before.id, name: before.businessObject.name || '',
      type: before.type, changes: [] });
  }
  const order = { renamed: 0, changed: 1, added: 2, removed: 3, moved: 4 };
  return entries.sort((a, b) => order[a.kind] - order[b.kind]);
}
