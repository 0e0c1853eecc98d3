// A form from a task's JSON Schema (workflows/forms/*.schema.json), Chinese first.
//
//   const form = renderForm(container, schema, data, { readOnly, showTitle });
//   form.getData()            → the values as the schema wants them (empty fields left out)
//   form.validate()           → true when the cheap checks pass (required, lengths, numbers, items);
//                               otherwise shows the problems on their fields and answers false
//   form.showErrors(errors)   → the server's 422 `errors` {"field.path": message} under their fields
//                               ("parties.0.name"; "$" or an unknown path: at the top of the form)
//   form.clearErrors()
//
//   form.uploadPending(fn)    → uploads the files still waiting in attachment fields with fn(file)
//
// Mapping: enum / oneOf(const,title) → radios (≤ 4 options) or a select; format date / date-time /
// time → date, datetime-local (China time) and time inputs; format tel / email / uri → the matching
// input type, so phones open the right keyboard; integer / number → number input with min / max;
// boolean → 是/否 radios when required, else a checkbox; string → input, or a textarea when
// maxLength > 200; array of enums → checkboxes; array of `"format": "attachment"` items → photos,
// recordings and files (attachfield.js); array of strings → one per line; array of objects →
// repeatable groups; object → a fieldset.
// Required: a field in `required` must be filled (an array: when it has minItems; an empty list is
// an answer otherwise, and gets no star); the form's if/then rules (formrules.js) make fields
// required as the user answers, with the same rule the server checks; a field only a rule asks for
// shows only while the rule applies. The server stays the judge. Choices (`oneOf`) and starting
// values (`default`) of organisation-fed fields come resolved from the server (api/cases/formview.py).
// Field order: `x-order` when the schema has it (GET /api/v1/tasks/{id} adds it), else the keys' order.
import './jsonform.css';
import { h, t } from './page.js';
import { attachmentControl, isAttachmentArray } from './attachfield.js';
import { readRules, requiredBy } from './formrules.js';

const INPUT_TYPES = {  // format → input attributes
  tel: { type: 'tel', inputmode: 'tel', autocomplete: 'tel' },
  email: { type: 'email', inputmode: 'email', autocomplete: 'email' },
  uri: { type: 'url', inputmode: 'url' },
  time: { type: 'time' },
};

/** Whether a field in `required` asks the user for something (a list may be empty unless minItems). */
function mustFill(schema, required) {
  return Boolean(required) && !(schema.type === 'array' && !schema.minItems);
}

let formCount = 0;

const CHINA_OFFSET_MS = 8 * 3600 * 1000; // China has no daylight saving time

function toChinaLocal(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Date(date.getTime() + CHINA_OFFSET_MS).toISOString().slice(0, 16);
}

function fromChinaLocal(local) {
  return local ? `${local.length === 16 ? `${local}:00` : local}+08:00` : undefined;
}

function optionsOf(schema) {
  if (Array.isArray(schema.enum)) return schema.enum.map((value) => [value, String(value)]);
  if (Array.isArray(schema.oneOf) && schema.oneOf.every((o) => o && 'const' in o)) {
    return schema.oneOf.map((o) => [o.const, o.title || String(o.const)]);
  }
  if (Array.isArray(schema.anyOf) && schema.anyOf.every((o) => o && 'const' in o)) {
    return schema.anyOf.map((o) => [o.const, o.title || String(o.const)]);
  }
  return null;
}

function isEmpty(value) {
  return value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0);
}

function chars(value) {
  return [...String(value)].length;
}

/** The Chinese message for one of jsonschema's English messages, from the field's own schema. */
export function explain(message, schema = {}) {
  const text = String(message || '');
  const isArray = schema.type === 'array';
  // jsonschema's messages start with the value itself ("['家暴', '无'] is too long"): match the English
  // part; a message without one is the form's own (Chinese) text
  if (/is a required property/.test(text)) return t('This field is required.');
  if (/is too short|should be non-empty|does not have enough properties/.test(text)) {
    if (isArray) return t('Add at least {n} item(s).', { n: schema.minItems ?? 1 });
    return t('Enter at least {n} characters.', { n: schema.minLength ?? 1 });
  }
  if (/is too long|is expected to be empty|has too many properties/.test(text)) {
    if (isArray) return schema.maxItems ? t('At most {n} item(s).', { n: schema.maxItems }) : t('Too many items.');
    return schema.maxLength ? t('At most {n} characters.', { n: schema.maxLength }) : t('Too long.');
  }
  if (/less than or equal to the minimum|less than the minimum/.test(text)) {
    return t('Must not be less than {n}.', { n: schema.minimum ?? schema.exclusiveMinimum });
  }
  if (/greater than or equal to the maximum|greater than the maximum/.test(text)) {
    return t('Must not be more than {n}.', { n: schema.maximum ?? schema.exclusiveMaximum });
  }
  if (/is not one of|is not valid under any of the given schemas|was expected|is valid under each of/.test(text)) {
    return t('Choose one of the options.');
  }
  if (/is not of type|is not a '|does not match/.test(text)) return t('The format is not right.');
  if (/non-unique elements/.test(text)) return t('Each item may appear only once.');
  return text;
}

/**
 * Render `schema` into `container` with `data`; see the top of this file.
 */
export function renderForm(container, schema, data = {}, { readOnly = false, showTitle = true, upload = null } = {}) {
  formCount += 1;
  const prefix = `jf${formCount}`;
  const fields = new Map(); // path → field
  const root = h('div', { class: 'jsonform', dataset: { readonly: readOnly ? 'true' : 'false' } });
  const topError = h('div', { class: 'field-error jf-top-error', role: 'alert', hidden: true });

  const idOf = (path) => `${prefix}-${path.replace(/[^\w-]+/g, '-') || 'root'}`;

  function labelText(key, fieldSchema) {
    return fieldSchema.title || key;
  }

  function register(path, field) {
    fields.set(path, field);
    return field;
  }

  function errorSlot(path) {
    return h('p', { class: 'field-error', id: `${idOf(path)}-error`, hidden: true });
  }

  function helpNode(path, fieldSchema) {
    return fieldSchema.description ? h('p', { class: 'hint', id: `${idOf(path)}-help` }, fieldSchema.description) : null;
  }

  function describedBy(path, fieldSchema) {
    return [fieldSchema.description ? `${idOf(path)}-help` : null, `${idOf(path)}-error`].filter(Boolean).join(' ');
  }

  function requiredMark(required) {
    return h('span', { class: 'jf-required', title: t('Required'), hidden: !required }, ' *');
  }

  // -- one field of any kind --------------------------------------------------------------------

  function build(path, key, fieldSchema, value, required) {
    const type = Array.isArray(fieldSchema.type) ? fieldSchema.type.find((x) => x !== 'null') : fieldSchema.type;
    const options = optionsOf(fieldSchema);
    if (type === 'object' || (!type && fieldSchema.properties)) return objectField(path, key, fieldSchema, value, required);
    if (type === 'array') {
      const items = fieldSchema.items || {};
      if (isAttachmentArray(fieldSchema)) return attachmentsField(path, key, fieldSchema, value, required);
      if (optionsOf(items)) return checkboxesField(path, key, fieldSchema, value, required);
      if (items.type === 'object' || items.properties) return repeatField(path, key, fieldSchema, value, required);
      return linesField(path, key, fieldSchema, value, required);
    }
    if (options) {
      return options.length <= 4 ? radiosField(path, key, fieldSchema, value, required, options)
        : selectField(path, key, fieldSchema, value, required, options);
    }
    if (type === 'boolean') {
      return required ? radiosField(path, key, fieldSchema, value, required, [[true, t('Yes')], [false, t('No')]])
        : checkboxField(path, key, fieldSchema, value, required);
    }
    if (type === 'integer' || type === 'number') return numberField(path, key, fieldSchema, value, required, type);
    return textField(path, key, fieldSchema, value, required);
  }

  function wrap(path, fieldSchema, control, { label, group = false, required = false, key = '' }) {
    const error = errorSlot(path);
    const help = helpNode(path, fieldSchema);
    const star = requiredMark(mustFill(fieldSchema, required));
    if (group) {
      const legend = h('legend', {}, labelText(key, fieldSchema), star);
      return h('fieldset', { class: 'jf-field jf-group', dataset: { path } }, legend, help, control, error);
    }
    return h('div', { class: 'jf-field', dataset: { path } },
      h('label', { for: idOf(path) }, label, star), help, control, error);
  }

  function markInvalid(inputs, invalid) {
    for (const input of inputs) {
      if (invalid) input.setAttribute('aria-invalid', 'true');
      else input.removeAttribute('aria-invalid');
    }
  }

  function baseField(path, fieldSchema, node, inputs, get, required) {
    return register(path, {
      path, schema: fieldSchema, node, inputs, get, required,
      error: node.querySelector(`#${CSS.escape(`${idOf(path)}-error`)}`) || node.lastElementChild,
    });
  }

  function textField(path, key, fieldSchema, value, required) {
    const long = (fieldSchema.maxLength || 0) > 200;
    const format = fieldSchema.format;
    const attrs = {
      id: idOf(path), name: path, disabled: readOnly, 'aria-required': required ? 'true' : null,
      'aria-describedby': describedBy(path, fieldSchema),
      maxlength: format && !INPUT_TYPES[format] ? null : fieldSchema.maxLength,
    };
    let input;
    if (format === 'date') {
      input = h('input', { ...attrs, type: 'date' });
      input.value = value ? String(value).slice(0, 10) : '';
    } else if (format === 'date-time') {
      input = h('input', { ...attrs, type: 'datetime-local' });
      input.value = value ? toChinaLocal(value) : '';
    } else if (INPUT_TYPES[format]) {
      input = h('input', { ...attrs, ...INPUT_TYPES[format] });
      input.value = value ?? '';
    } else if (long) {
      input = h('textarea', { ...attrs, rows: (fieldSchema.maxLength || 0) > 1000 ? 5 : 3 });
      input.value = value ?? '';
    } else {
      input = h('input', { ...attrs, type: 'text' });
      input.value = value ?? '';
    }
    const node = wrap(path, fieldSchema, input, { label: labelText(key, fieldSchema), required });
    return baseField(path, fieldSchema, node, [input], () => {
      if (format === 'date-time') return fromChinaLocal(input.value);
      const text = input.value.trim();
      return text === '' ? undefined : text;
    }, required);
  }

  function numberField(path, key, fieldSchema, value, required, type) {
    const input = h('input', {
      id: idOf(path), name: path, type: 'number', inputmode: type === 'integer' ? 'numeric' : 'decimal',
      min: fieldSchema.minimum, max: fieldSchema.maximum, step: type === 'integer' ? '1' : 'any',
      disabled: readOnly, 'aria-required': required ? 'true' : null, 'aria-describedby': describedBy(path, fieldSchema),
    });
    input.value = value ?? '';
    const node = wrap(path, fieldSchema, input, { label: labelText(key, fieldSchema), required });
    return baseField(path, fieldSchema, node, [input], () => {
      if (input.value.trim() === '') return input.validity && input.validity.badInput ? NaN : undefined;
      return Number(input.value);
    }, required);
  }

  function checkboxField(path, key, fieldSchema, value, required) {
    const input = h('input', { id: idOf(path), name: path, type: 'checkbox', disabled: readOnly,
      'aria-describedby': describedBy(path, fieldSchema) });
    input.checked = value === true;
    const error = errorSlot(path);
    const node = h('div', { class: 'jf-field jf-check', dataset: { path } },
      h('div', { class: 'jf-inline' }, input, h('label', { for: idOf(path) }, labelText(key, fieldSchema))),
      helpNode(path, fieldSchema), error);
    return baseField(path, fieldSchema, node, [input], () => input.checked, required);
  }

  function radiosField(path, key, fieldSchema, value, required, options) {
    const inputs = options.map(([optionValue, optionLabel], index) => {
      const input = h('input', { type: 'radio', id: `${idOf(path)}${index ? `-${index}` : ''}`, name: `${prefix}:${path}`,
        value: String(optionValue), disabled: readOnly, 'aria-describedby': describedBy(path, fieldSchema) });
      input.checked = value !== undefined && value !== null && value === optionValue;
      input.optionValue = optionValue;
      return [input, optionLabel];
    });
    const control = h('div', { class: 'jf-options', role: 'radiogroup', 'aria-required': required ? 'true' : null },
      inputs.map(([input, optionLabel]) => h('span', { class: 'jf-option' }, input,
        h('label', { for: input.id }, optionLabel))));
    const node = wrap(path, fieldSchema, control, { group: true, required, key });
    const only = inputs.map(([input]) => input);
    return baseField(path, fieldSchema, node, only, () => {
      const chosen = only.find((input) => input.checked);
      return chosen ? chosen.optionValue : undefined;
    }, required);
  }

  function selectField(path, key, fieldSchema, value, required, options) {
    const select = h('select', { id: idOf(path), name: path, disabled: readOnly,
      'aria-required': required ? 'true' : null, 'aria-describedby': describedBy(path, fieldSchema) },
    h('option', { value: '' }, t('Please choose')),
    options.map(([optionValue, optionLabel], index) => h('option', { value: String(index) }, optionLabel)));
    const selected = options.findIndex(([optionValue]) => optionValue === value);
    select.value = selected >= 0 ? String(selected) : '';
    const node = wrap(path, fieldSchema, select, { label: labelText(key, fieldSchema), required });
    return baseField(path, fieldSchema, node, [select], () => (select.value === '' ? undefined
      : options[Number(select.value)][0]), required);
  }

  function checkboxesField(path, key, fieldSchema, value, required) {
    const options = optionsOf(fieldSchema.items);
    const chosen = new Set(Array.isArray(value) ? value : []);
    const inputs = options.map(([optionValue, optionLabel], index) => {
      const input = h('input', { type: 'checkbox', id: `${idOf(path)}${index ? `-${index}` : ''}`, name: path,
        value: String(optionValue), disabled: readOnly, 'aria-describedby': describedBy(path, fieldSchema) });
      input.checked = chosen.has(optionValue);
      input.optionValue = optionValue;
      return [input, optionLabel];
    });
    const control = h('div', { class: 'jf-options' }, inputs.map(([input, optionLabel]) =>
      h('span', { class: 'jf-option' }, input, h('label', { for: input.id }, optionLabel))));
    const node = wrap(path, fieldSchema, control, { group: true, required, key });
    const only = inputs.map(([input]) => input);
    return baseField(path, fieldSchema, node, only,
      () => only.filter((input) => input.checked).map((input) => input.optionValue), required);
  }

  function linesField(path, key, fieldSchema, value, required) {
    const input = h('textarea', { id: idOf(path), name: path, rows: 3, disabled: readOnly,
      'aria-required': mustFill(fieldSchema, required) ? 'true' : null, 'aria-describedby': `${idOf(path)}-lines ${describedBy(path, fieldSchema)}` });
    input.value = Array.isArray(value) ? value.join('\n') : '';
    const node = wrap(path, fieldSchema, h('div', {}, input,
      h('p', { class: 'hint', id: `${idOf(path)}-lines` }, t('One item per line.'))),
    { label: labelText(key, fieldSchema), required });
    const itemType = (fieldSchema.items || {}).type;
    return baseField(path, fieldSchema, node, [input], () => {
      const lines = input.value.split('\n').map((line) => line.trim()).filter(Boolean)
        .map((line) => (itemType === 'integer' || itemType === 'number' ? Number(line) : line));
      return lines.length || required ? lines : undefined;
    }, required);
  }

  function attachmentsField(path, key, fieldSchema, value, required) {
    let field = null;
    const control = attachmentControl({
      id: idOf(path), schema: fieldSchema, value, readOnly, upload, describedBy: describedBy(path, fieldSchema),
      showError: (message) => {
        if (!field) return;
        field.error.textContent = message || '';
        field.error.hidden = !message;
      },
    });
    const node = wrap(path, fieldSchema, control.node, { group: true, required, key });
    field = baseField(path, fieldSchema, node, control.inputs, () => {
      const refs = control.get();
      return refs.length || required ? refs : undefined;
    }, required);
    field.count = control.count;
    field.attachments = control;
    return field;
  }

  function objectChildren(path, objectSchema, value) {
    const requiredKeys = new Set(objectSchema.required || []);
    const children = [];
    const properties = objectSchema.properties || {};
    // The server writes JSON with sorted keys; `x-order` (api/cases/tasks.py) keeps the author's order.
    const order = Array.isArray(objectSchema['x-order']) ? objectSchema['x-order'].filter((key) => key in properties) : [];
    const keys = [...order, ...Object.keys(properties).filter((key) => !order.includes(key))];
    for (const key of keys) {
      const childSchema = properties[key];
      const childPath = path ? `${path}.${key}` : key;
      const childValue = value && typeof value === 'object' && key in value ? value[key] : childSchema.default;
      children.push([key, build(childPath, key, childSchema, childValue, requiredKeys.has(key))]);
    }
    return children;
  }

  function objectField(path, key, fieldSchema, value, required) {
    const children = objectChildren(path, fieldSchema, value);
    const error = errorSlot(path);
    const node = h('fieldset', { class: 'jf-field jf-object', dataset: { path } },
      h('legend', {}, labelText(key, fieldSchema), requiredMark(required)), helpNode(path, fieldSchema),
      children.map(([, child]) => child.node), error);
    return baseField(path, fieldSchema, node, [], () => {
      const out = {};
      for (const [childKey, child] of children) {
        const childValue = child.get();
        if (childValue !== undefined) out[childKey] = childValue;
      }
      return Object.keys(out).length || required ? out : undefined;
    }, required);
  }

  function repeatField(path, key, fieldSchema, value, required) {
    const itemSchema = fieldSchema.items;
    const list = h('div', { class: 'jf-repeat-items' });
    const rows = [];
    const error = errorSlot(path);
    const title = labelText(key, fieldSchema);
    const add = readOnly ? null : h('button', { type: 'button', class: 'jf-add', onclick: () => {
      addRow({});
      const last = rows[rows.length - 1];
      const first = last && last.node.querySelector('input, select, textarea');
      if (first) first.focus();
    } }, t('Add {title}', { title: itemSchema.title || title }));

    function renumber() {
      rows.forEach((row, index) => {
        row.legend.textContent = `${itemSchema.title || title} ${index + 1}`;
      });
    }

    function addRow(rowValue) {
      // Paths keep the index the row had when it was made; removing a row re-renders the rest.
      const index = rows.length;
      const rowPath = `${path}.${index}`;
      const children = objectChildren(rowPath, itemSchema, rowValue);
      const legend = h('legend', {});
      const remove = readOnly ? null : h('button', { type: 'button', class: 'link jf-remove',
        onclick: () => removeRow(index) }, t('Remove'));
      const node = h('fieldset', { class: 'jf-repeat-item', dataset: { path: rowPath } }, legend,
        children.map(([, child]) => child.node), remove);
      const row = { node, legend, children, path: rowPath };
      register(rowPath, { path: rowPath, schema: itemSchema, node, inputs: [], required: false,
        error: null, get: () => undefined });
      rows.push(row);
      list.append(node);
      renumber();
    }

    function removeRow(index) {
      const values = rows.map((row) => rowValue(row));
      values.splice(index, 1);
      for (const fieldPath of [...fields.keys()]) {
        if (fieldPath.startsWith(`${path}.`)) fields.delete(fieldPath);
      }
      rows.length = 0;
      list.replaceChildren();
      values.forEach((v) => addRow(v));
    }

    function rowValue(row) {
      const out = {};
      for (const [childKey, child] of row.children) {
        const childValue = child.get();
        if (childValue !== undefined) out[childKey] = childValue;
      }
      return out;
    }

    const initial = Array.isArray(value) ? value : [];
    const minimum = Math.max(initial.length, fieldSchema.minItems || 0, required && !readOnly ? 1 : 0);
    for (let i = 0; i < minimum; i += 1) addRow(initial[i] || {});

    const node = h('fieldset', { class: 'jf-field jf-repeat', dataset: { path } },
      h('legend', {}, title, requiredMark(required)), helpNode(path, fieldSchema), list, add, error);
    return baseField(path, fieldSchema, node, [], () => {
      const values = rows.map(rowValue).filter((v) => Object.keys(v).length);
      return values.length || required ? values : undefined;
    }, required);
  }

  // -- the form ---------------------------------------------------------------------------------

  const top = objectChildren('', schema || {}, data || {});
  const head = showTitle && (schema.title || schema.description) ? h('div', { class: 'jf-head' },
    schema.title ? h('h2', {}, schema.title) : null,
    schema.description ? h('p', { class: 'hint' }, schema.description) : null) : null;
  root.append(...[head, topError, ...top.map(([, field]) => field.node)].filter(Boolean));
  container.replaceChildren(root);

  // if/then rules: fields become required (and starred) as the user answers; a field only a rule
  // asks for appears only while the rule applies (and is not sent while hidden)
  const rules = readRules(schema || {});
  const ruled = new Set(rules.flatMap((rule) => rule.required));
  function applyRules() {
    if (!rules.length) return;
    const now = requiredBy(rules, getData());
    for (const [key, field] of top) {
      if (!ruled.has(key)) continue;
      field.ruleRequired = now.has(key);
      field.hidden = !field.required && !now.has(key);
      field.node.hidden = field.hidden;
      const on = field.required || field.ruleRequired;
      const star = field.node.querySelector('.jf-required');
      if (star) star.hidden = !mustFill(field.schema, on);
      for (const input of field.inputs) {
        if (input.type !== 'radio' && input.type !== 'checkbox') input.setAttribute('aria-required', on ? 'true' : 'false');
      }
    }
  }
  root.addEventListener('change', applyRules);
  root.addEventListener('input', applyRules);
  applyRules();

  function getData() {
    const out = {};
    for (const [key, field] of top) {
      if (field.hidden) continue;
      const value = field.get();
      if (value !== undefined) out[key] = value;
    }
    return out;
  }

  function clearErrors() {
    topError.hidden = true;
    topError.textContent = '';
    for (const field of fields.values()) {
      markInvalid(field.inputs, false);
      field.node.classList.remove('jf-invalid');
      if (field.error) { field.error.textContent = ''; field.error.hidden = true; }
    }
  }

  function fieldFor(path) {
    let candidate = path;
    while (candidate) {
      const field = fields.get(candidate);
      if (field && field.error) return field;
      candidate = candidate.includes('.') ? candidate.slice(0, candidate.lastIndexOf('.')) : '';
    }
    return null;
  }

  function showErrors(errorsByField = {}) {
    clearErrors();
    const general = [];
    let first = null;
    for (const [path, message] of Object.entries(errorsByField || {})) {
      const field = path === '$' ? null : fieldFor(path);
      if (!field) {
        general.push(explain(message, {}));
        continue;
      }
      const text = explain(message, field.schema);
      field.error.textContent = field.error.hidden ? text : `${field.error.textContent}；${text}`;
      field.error.hidden = false;
      field.node.classList.add('jf-invalid');
      markInvalid(field.inputs, true);
      if (!first) first = field;
    }
    if (general.length) {
      topError.textContent = general.join('；');
      topError.hidden = false;
    }
    const target = first ? first.node : (general.length ? topError : null);
    if (target) {
      target.scrollIntoView({ block: 'center' });
      if (first && first.inputs[0] && !readOnly) first.inputs[0].focus({ preventScroll: true });
    }
  }

  function check(field, value) {
    const s = field.schema;
    const required = field.required || field.ruleRequired;
    if (isEmpty(value)) {
      if (field.ruleRequired && !field.required) return t('This field is required.');
      if (required && !(s.type === 'array' && !s.minItems && Array.isArray(value))) return t('This field is required.');
      return null;
    }
    if (typeof value === 'string') {
      if (s.minLength && chars(value) < s.minLength) return t('Enter at least {n} characters.', { n: s.minLength });
      if (s.maxLength && chars(value) > s.maxLength) return t('At most {n} characters.', { n: s.maxLength });
    }
    if (typeof value === 'number') {
      if (Number.isNaN(value)) return t('Enter a number.');
      if (s.type === 'integer' && !Number.isInteger(value)) return t('Enter a whole number.');
      if (s.minimum !== undefined && value < s.minimum) return t('Must not be less than {n}.', { n: s.minimum });
      if (s.maximum !== undefined && value > s.maximum) return t('Must not be more than {n}.', { n: s.maximum });
    }
    if (Array.isArray(value)) {
      if (s.minItems && value.length < s.minItems) return t('Add at least {n} item(s).', { n: s.minItems });
      if (s.maxItems && value.length > s.maxItems) return t('At most {n} item(s).', { n: s.maxItems });
    }
    return null;
  }

  function validate() {
    const errors = {};
    applyRules();
    const hidden = new Set(top.filter(([, field]) => field.hidden).map(([key]) => key));
    for (const [path, field] of fields) {
      if (!field.error || hidden.has(path.split('.')[0])) continue;
      // an attachment field counts the files still waiting to be uploaded
      const problem = check(field, field.count ? new Array(field.count()).fill(null) : field.get());
      if (problem) errors[path] = problem;
    }
    if (Object.keys(errors).length) {
      showErrors(errors);
      return false;
    }
    clearErrors();
    return true;
  }

  async function uploadPending(uploader) {
    for (const field of fields.values()) if (field.attachments) await field.attachments.uploadPending(uploader);
  }

  const busy = () => [...fields.values()].some((field) => field.attachments && field.attachments.busy());

  return { getData, showErrors, clearErrors, validate, uploadPending, busy, element: root };
}
