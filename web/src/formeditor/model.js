// Edits on a form's JSON Schema, addressed by the path of the section being edited: [] is the form,
// ['parties'] the fields of its repeated group `parties`. Every edit keeps `required`, the if/then
// rules (lib/formrules.js) and the examples in step with the fields.
import { readRules, writeRules } from '../lib/formrules.js';
import { KINDS } from './kinds.js';

export const KEY_PATTERN = /^[a-z][a-z0-9_]{0,63}$/;

/** The object schema whose `properties` are the fields at `path`. */
export function sectionAt(schema, path) {
  let node = schema;
  for (const key of path) {
    const field = node.properties[key];
    node = field.type === 'array' ? field.items : field;
  }
  if (!node.properties) node.properties = {};
  return node;
}

function reorder(section, keys) {
  const properties = {};
  for (const key of keys) properties[key] = section.properties[key];
  section.properties = properties;
}

export function moveField(schema, path, key, toIndex) {
  const section = sectionAt(schema, path);
  const keys = Object.keys(section.properties).filter((k) => k !== key);
  keys.splice(Math.max(0, Math.min(keys.length, toIndex)), 0, key);
  reorder(section, keys);
}

export function addField(schema, path, kind, title) {
  const section = sectionAt(schema, path);
  let n = Object.keys(section.properties).length + 1;
  while (section.properties[`field_${n}`]) n += 1;
  const key = `field_${n}`;
  section.properties[key] = { ...KINDS[kind][1](), title };
  return key;
}

export function removeField(schema, path, key) {
  const section = sectionAt(schema, path);
  delete section.properties[key];
  if (Array.isArray(section.required)) section.required = section.required.filter((k) => k !== key);
  if (!path.length) {
    replaceRules(schema, readRules(schema).filter((r) => r.field !== key)
      .map((r) => ({ ...r, required: r.required.filter((k) => k !== key) })));
  }
}

/** Rename a field: its place, `required`, the rules and the examples follow. Answers a problem or null. */
export function renameField(schema, path, from, to) {
  const section = sectionAt(schema, path);
  if (from === to) return null;
  if (!KEY_PATTERN.test(to)) return 'pattern';
  if (section.properties[to]) return 'taken';
  const keys = Object.keys(section.properties).map((k) => (k === from ? to : k));
  section.properties[to] = section.properties[from];
  reorder(section, keys);
  if (Array.isArray(section.required)) section.required = section.required.map((k) => (k === from ? to : k));
  if (!path.length) {
    replaceRules(schema, readRules(schema).map((r) => ({ ...r, field: r.field === from ? to : r.field,
      required: r.required.map((k) => (k === from ? to : k)) })));
    for (const example of Array.isArray(schema.examples) ? schema.examples : []) {
      if (example && typeof example === 'object' && from in example) {
        const renamed = Object.fromEntries(Object.entries(example).map(([k, v]) => [k === from ? to : k, v]));
        Object.keys(example).forEach((k) => delete example[k]);
        Object.assign(example, renamed);
      }
    }
  }
  return null;
}

export function isRequired(schema, path, key) {
  const section = sectionAt(schema, path);
  const field = section.properties[key];
  const listed = Array.isArray(section.required) && section.required.includes(key);
  return field.type === 'array' ? listed && (field.minItems || 0) >= 1 : listed;
}

/** Required: a list must have an item (minItems 1); anything else must be answered. Unticking a
 * list leaves it in `required` (the form always sends it, scripts may read it) and drops minItems. */
export function setRequired(schema, path, key, on) {
  const section = sectionAt(schema, path);
  const field = section.properties[key];
  const listed = new Set(section.required || []);
  if (field.type === 'array') {
    if (on) { listed.add(key); field.minItems = Math.max(1, field.minItems || 0); } else delete field.minItems;
  } else if (on) listed.add(key);
  else listed.delete(key);
  const order = Object.keys(section.properties).filter((k) => listed.has(k));
  if (order.length) section.required = order;
  else delete section.required;
}

export function replaceRules(schema, rules) {
  const written = writeRules(schema, rules);
  for (const key of ['if', 'then', 'else', 'allOf']) delete schema[key];
  Object.assign(schema, written);
}
