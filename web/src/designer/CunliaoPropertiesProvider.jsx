// Our properties in bpmn-js's properties panel (docs/modelling-guide.md §2–§5):
//   user task → formKey (deployed forms, or any key typed), slaKey (the SLA table), dueIn, returnable,
//               documents and documentsRequired (docs/documents.md), all written as
//               <spiffworkflow:property name=… value=…/>;
//   lane      → its role (the lane's name must name a role of workflows/roles.json);
//   script task → its Python script; a gateway's outgoing flow → its condition.
import {
  SelectEntry, TextAreaEntry, TextFieldEntry,
  isCheckboxEntryEdited, isSelectEntryEdited, isTextAreaEntryEdited, isTextFieldEntryEdited,
} from '@bpmn-io/properties-panel';
import { useService } from 'bpmn-js-properties-panel';
import { getBusinessObject, is } from 'bpmn-js/lib/util/ModelUtil';
import { t } from '../lib/page.js';
import { catalog, roleOf } from './catalog.js';

// -- spiffworkflow:property helpers ------------------------------------------------------------

function propertiesOf(element) {
  const extension = getBusinessObject(element).get('extensionElements');
  const values = (extension && extension.get('values')) || [];
  return values.find((value) => is(value, 'spiffworkflow:Properties'));
}

export function getProperty(element, name) {
  const container = propertiesOf(element);
  const found = container && container.get('properties').find((p) => p.name === name);
  return found ? found.value : undefined;
}

export function setProperty(element, name, value, bpmnFactory, commandStack) {
  const businessObject = getBusinessObject(element);
  const commands = [];
  const update = (moddleElement, properties) => commands.push({
    cmd: 'element.updateModdleProperties', context: { element, moddleElement, properties },
  });
  const empty = value === undefined || value === null || value === '';
  let extension = businessObject.get('extensionElements');
  let container = propertiesOf(element);
  const existing = container && container.get('properties').find((p) => p.name === name);
  if (empty) {
    if (existing) update(container, { properties: container.get('properties').filter((p) => p !== existing) });
  } else if (existing) {
    update(existing, { value });
  } else {
    if (!extension) {
      extension = bpmnFactory.create('bpmn:ExtensionElements', { values: [] });
      extension.$parent = businessObject;
      update(businessObject, { extensionElements: extension });
    }
    if (!container) {
      container = bpmnFactory.create('spiffworkflow:Properties', { properties: [] });
      container.$parent = extension;
      update(extension, { values: [...extension.get('values'), container] });
    }
    const property = bpmnFactory.create('spiffworkflow:Property', { name, value });
    property.$parent = container;
    update(container, { properties: [...container.get('properties'), property] });
  }
  if (commands.length) commandStack.execute('properties-panel.multi-command-executor', commands);
}

function usePropertyAccess(element, name) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  return {
    getValue: () => getProperty(element, name) || '',
    setValue: (value) => setProperty(element, name, value, bpmnFactory, commandStack),
  };
}

function withCurrent(options, current, unknownLabel) {
  if (current && !options.some((o) => o.value === current)) {
    return [{ value: current, label: `${current} — ${unknownLabel}` }, ...options];
  }
  return options;
}

// -- user task entries ---------------------------------------------------------------------------

function FormSelect({ element, id }) {
  const { getValue, setValue } = usePropertyAccess(element, 'formKey');
  const getOptions = () => withCurrent(
    [{ value: '', label: t('(no form)') },
      ...catalog.forms.map((f) => ({ value: f.key, label: f.title ? `${f.title}（${f.key}）` : f.key }))],
    getValue(), t('not deployed yet'));
  return <SelectEntry id={id} element={element} label={t('Form')} getValue={getValue} setValue={setValue}
    getOptions={getOptions} />;
}

function FormKeyText({ element, id }) {
  const { getValue, setValue } = usePropertyAccess(element, 'formKey');
  const debounce = useService('debounceInput');
  return <TextFieldEntry id={id} element={element} label={t('Form key')} getValue={getValue} setValue={setValue}
    debounce={debounce} description={t('A deployed form, or the key of a new form deployed with this process.')} />;
}

function SlaSelect({ element, id }) {
  const { getValue, setValue } = usePropertyAccess(element, 'slaKey');
  const getOptions = () => withCurrent(
    [{ value: '', label: t('(none)') },
      ...catalog.slaKeys.map((k) => ({ value: k.key, label: `${k.name}（${k.key}，${k.duration}）` }))],
    getValue(), t('not in the SLA table'));
  return <SelectEntry id={id} element={element} label={t('SLA key')} getValue={getValue} setValue={setValue}
    getOptions={getOptions} />;
}

function DueInText({ element, id }) {
  const { getValue, setValue } = usePropertyAccess(element, 'dueIn');
  const debounce = useService('debounceInput');
  const validate = (value) => (value && !/^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/.test(value)
    ? t('An ISO-8601 duration such as P3D or PT2H') : null);
  return <TextFieldEntry id={id} element={element} label={t('Due in (drafts only)')} getValue={getValue}
    setValue={setValue} debounce={debounce} validate={validate} />;
}

/** A checkbox entry that shows the box as the browser toggled it. The panel's own CheckboxEntry
 * (@bpmn-io/properties-panel 3.55) stores `event.target.value` ("on") as its local state after a
 * change, so an unticked box is drawn ticked again until an effect corrects it a frame later: a
 * quick second look (a person's, or a test's) sees the old state. */
function ReturnableCheck({ element, id }) {
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const inputId = `bio-properties-panel-${id}`;
  const onChange = (event) => setProperty(element, 'returnable', event.target.checked ? 'true' : '',
    bpmnFactory, commandStack);
  return <div class="bio-properties-panel-entry bio-properties-panel-checkbox-entry" data-entry-id={id}>
    <div class="bio-properties-panel-checkbox">
      <input id={inputId} name={id} type="checkbox" class="bio-properties-panel-input"
        checked={getProperty(element, 'returnable') === 'true'} onChange={onChange} />
      <label for={inputId} class="bio-properties-panel-label">{t('Returnable: work may be sent back to this step')}</label>
    </div>
  </div>;
}

function DocumentsText({ element, id, name, label, description }) {
  const { getValue, setValue } = usePropertyAccess(element, name);
  const debounce = useService('debounceInput');
  return <TextFieldEntry id={id} element={element} label={label} getValue={getValue} setValue={setValue}
    debounce={debounce} description={description} />;
}

function DocumentsOffered(props) {
  return <DocumentsText {...props} name="documents" label={t('Documents this step issues')}
    description={t('Template keys, comma-separated, e.g. agreement')} />;
}

function DocumentsRequired(props) {
  return <DocumentsText {...props} name="documentsRequired" label={t('Documents required to complete')}
    description={t('key, or key:signed when the signed scan must be uploaded, e.g. agreement:signed')} />;
}

// -- lane, script, condition ---------------------------------------------------------------------

function LaneRole({ element, id }) {
  const modeling = useService('modeling');
  const getValue = () => {
    const name = getBusinessObject(element).name || '';
    const role = roleOf(name);
    return role ? role.zh : name;
  };
  const getOptions = () => withCurrent(
    [{ value: '', label: t('(choose a role)') },
      ...catalog.roles.map((r) => ({ value: r.zh, label: `${r.zh}（${r.code}）` }))],
    getValue(), t('not a known role'));
  const setValue = (value) => modeling.updateLabel(element, value);
  return <SelectEntry id={id} element={element} label={t('Role')} getValue={getValue} setValue={setValue}
    getOptions={getOptions} description={t('The name of the lane is the role that does its tasks.')} />;
}

function ScriptText({ element, id }) {
  const modeling = useService('modeling');
  const debounce = useService('debounceInput');
  return <TextAreaEntry id={id} element={element} label={t('Script (Python)')} monospace rows={8} autoResize
    debounce={debounce} getValue={() => getBusinessObject(element).get('script') || ''}
    setValue={(value) => modeling.updateProperties(element, { script: value || undefined })} />;
}

function ConditionText({ element, id }) {
  const modeling = useService('modeling');
  const bpmnFactory = useService('bpmnFactory');
  const commandStack = useService('commandStack');
  const debounce = useService('debounceInput');
  const getValue = () => {
    const expression = getBusinessObject(element).get('conditionExpression');
    return (expression && expression.get('body')) || '';
  };
  const setValue = (value) => {
    const expression = getBusinessObject(element).get('conditionExpression');
    if (!value) modeling.updateProperties(element, { conditionExpression: undefined });
    else if (expression) {
      commandStack.execute('element.updateModdleProperties', { element, moddleElement: expression, properties: { body: value } });
    } else {
      modeling.updateProperties(element, { conditionExpression: bpmnFactory.create('bpmn:FormalExpression', { body: value }) });
    }
  };
  return <TextAreaEntry id={id} element={element} label={t('Condition (Python expression)')} monospace rows={2}
    autoResize debounce={debounce} getValue={getValue} setValue={setValue} />;
}

function isConditional(element) {
  if (!is(element, 'bpmn:SequenceFlow')) return false;
  const flow = getBusinessObject(element);
  const source = flow.sourceRef;
  if (!source) return false;
  if (flow.conditionExpression) return true;
  return (is(source, 'bpmn:ExclusiveGateway') || is(source, 'bpmn:InclusiveGateway')) && source.default !== flow;
}

// -- the provider --------------------------------------------------------------------------------

export default function CunliaoPropertiesProvider(propertiesPanel) {
  propertiesPanel.registerProvider(500, this);
}
CunliaoPropertiesProvider.$inject = ['propertiesPanel'];

CunliaoPropertiesProvider.prototype.getGroups = function getGroups(element) {
  return (groups) => {
    const ours = [];
    if (is(element, 'bpmn:UserTask')) {
      ours.push({
        id: 'cunliao-task',
        label: t('Cunliao task'),
        entries: [
          { id: 'cunliao-form', element, component: FormSelect, isEdited: isSelectEntryEdited },
          { id: 'cunliao-form-key', element, component: FormKeyText, isEdited: isTextFieldEntryEdited },
          { id: 'cunliao-sla', element, component: SlaSelect, isEdited: isSelectEntryEdited },
          { id: 'cunliao-due-in', element, component: DueInText, isEdited: isTextFieldEntryEdited },
          { id: 'cunliao-returnable', element, component: ReturnableCheck, isEdited: isCheckboxEntryEdited },
          { id: 'cunliao-documents', element, component: DocumentsOffered, isEdited: isTextFieldEntryEdited },
          { id: 'cunliao-documents-required', element, component: DocumentsRequired, isEdited: isTextFieldEntryEdited },
        ],
      });
    }
    if (is(element, 'bpmn:Lane')) {
      ours.push({ id: 'cunliao-lane', label: t('Lane role'),
        entries: [{ id: 'cunliao-role', element, component: LaneRole, isEdited: isSelectEntryEdited }] });
    }
    if (is(element, 'bpmn:ScriptTask')) {
      ours.push({ id: 'cunliao-script', label: t('Script'),
        entries: [{ id: 'cunliao-script-body', element, component: ScriptText, isEdited: isTextAreaEntryEdited }] });
    }
    if (isConditional(element)) {
      ours.push({ id: 'cunliao-condition', label: t('Condition'),
        entries: [{ id: 'cunliao-condition-body', element, component: ConditionText, isEdited: isTextAreaEntryEdited }] });
    }
    // ours right after "General", where a designer looks first
    const general = groups.findIndex((group) => group.id === 'general');
    groups.splice(general + 1, 0, ...ours);
    return groups;
  };
};
