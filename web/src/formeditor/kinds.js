// The kinds of field a designer picks from, and how each is written in JSON Schema — the same shapes
// lib/jsonform.js renders (kindOf mirrors its choice of control) and the server validates.
import { t } from '../lib/page.js';

export const ATTACHMENT_ITEM = {
  type: 'object', format: 'attachment', title: '附件', required: ['id', 'sha256'],
  properties: { id: { type: 'integer' }, sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
    filename: { type: 'string', maxLength: 300 } },
};

/** kind → [label, a new field's schema] (in the order the "add field" menu offers them). */
export const KINDS = {
  text: [t('Text'), () => ({ type: 'string', maxLength: 200 })],
  textarea: [t('Long text'), () => ({ type: 'string', maxLength: 2000 })],
  choice: [t('Single choice'), () => ({ type: 'string', oneOf: [{ const: 'a', title: t('Option A') }, { const: 'b', title: t('Option B') }] })],
  multi: [t('Multiple choice'), () => ({ type: 'array', uniqueItems: true,
    items: { type: 'string', oneOf: [{ const: 'a', title: t('Option A') }, { const: 'b', title: t('Option B') }] } })],
  boolean: [t('Yes / no'), () => ({ type: 'boolean' })],
  integer: [t('Whole number'), () => ({ type: 'integer', minimum: 0 })],
  number: [t('Number'), () => ({ type: 'number', minimum: 0 })],
  date: [t('Date'), () => ({ type: 'string', format: 'date' })],
  datetime: [t('Date and time'), () => ({ type: 'string', format: 'date-time' })],
  tel: [t('Phone number'), () => ({ type: 'string', format: 'tel', maxLength: 30 })],
  attachments: [t('Photos, recordings, files'), () => ({ type: 'array', items: structuredClone(ATTACHMENT_ITEM), maxItems: 20 })],
  list: [t('List (one per line)'), () => ({ type: 'array', items: { type: 'string', maxLength: 500 } })],
  group: [t('Repeated group (a table)'), () => ({ type: 'array', items: { type: 'object', title: '', properties: {} } })],
  object: [t('Section'), () => ({ type: 'object', properties: {} })],
};

export function kindLabel(kind) {
  return (KINDS[kind] || [kind])[0];
}

/** The options of a choice schema as [[value, label]] (enum or oneOf/anyOf of consts), else null. */
export function optionsOf(schema) {
  if (!schema) return null;
  if (Array.isArray(schema.enum)) return schema.enum.map((v) => [v, String(v)]);
  for (const key of ['oneOf', 'anyOf']) {
    if (Array.isArray(schema[key]) && schema[key].length && schema[key].every((o) => o && 'const' in o)) {
      return schema[key].map((o) => [o.const, o.title || String(o.const)]);
    }
  }
  return null;
}

/** The options written back: enum when every label is its value, else oneOf with titles. */
export function withOptions(schema, options) {
  const out = { ...schema };
  delete out.enum; delete out.oneOf; delete out.anyOf; delete out['x-options'];
  if (options.every(([value, label]) => String(value) === label)) out.enum = options.map(([value]) => value);
  else out.oneOf = options.map(([value, label]) => ({ const: value, title: label }));
  return out;
}

export function kindOf(schema) {
  const type = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
  if (type === 'object' || (!type && schema.properties)) return 'object';
  if (type === 'array') {
    const items = schema.items || {};
    if (items.format === 'attachment') return 'attachments';
    if (optionsOf(items) || items['x-options']) return 'multi';
    if (items.type === 'object' || items.properties) return 'group';
    return 'list';
  }
  if (optionsOf(schema) || schema['x-options']) return 'choice';
  if (type === 'boolean') return 'boolean';
  if (type === 'integer') return 'integer';
  if (type === 'number') return 'number';
  if (schema.format === 'date') return 'date';
  if (schema.format === 'date-time') return 'datetime';
  if (schema.format === 'tel') return 'tel';
  if ((schema.maxLength || 0) > 200) return 'textarea';
  return 'text';
}

/** The field as another kind: its title, description and options (where both have them) kept. */
export function changeKind(schema, kind) {
  const fresh = KINDS[kind][1]();
  const keep = Object.fromEntries(['title', 'description'].filter((k) => schema[k]).map((k) => [k, schema[k]]));
  const options = optionsOf(schema) || optionsOf(schema.items);
  if (options && kind === 'choice') return { ...withOptions(fresh, options), ...keep };
  if (options && kind === 'multi') return { ...fresh, items: withOptions(fresh.items, options), ...keep };
  return { ...fresh, ...keep };
}

/** Whether filling the field can be made compulsory, and how: lists by minItems, the rest by `required`. */
export function isList(schema) {
  return kindOf(schema) !== 'object' && (schema.type === 'array');
}

/** The values a rule may test a field for ([[value, label]]), or null when it cannot be tested. */
export function testValues(schema) {
  if (kindOf(schema) === 'boolean') return [[true, t('Yes')], [false, t('No')]];
  return kindOf(schema) === 'choice' ? optionsOf(schema) : null;
}

/** Where a choice's options come from, instead of a typed list (api/core/formvocab.py): the server
 * offers the units, departments or categories of each task and accepts only those. */
export const SOURCES = {
  town: { source: 'units', kind: 'town', within: 'case' },
  village: { source: 'units', kind: 'village', within: 'case' },
  grid: { source: 'units', kind: 'grid', within: 'case' },
  department: { source: 'departments', within: 'case' },
  category: { source: 'categories' },
};

/** The field with its options taken from a source (an `x-options`), its typed list dropped. */
export function withSource(schema, name) {
  const out = { ...schema, type: 'string' };
  delete out.enum; delete out.oneOf; delete out.anyOf;
  out['x-options'] = { ...SOURCES[name] };
  return out;
}

/** The SOURCES key of a field's x-options, or '' when it has a typed list. */
export function sourceOf(schema) {
  const spec = schema && schema['x-options'];
  if (!spec) return '';
  if (spec.source === 'units') return spec.kind;
  return spec.source === 'departments' ? 'department' : spec.source === 'categories' ? 'category' : '';
}
