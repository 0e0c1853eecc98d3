// A readable, read-only view of case data: keys and values, nested objects as nested lists, lists of
// objects as small tables. Fields are named as the case's forms name them, coded values by what they
// mean (the code stays in the tooltip), unit paths by the unit's name, times in China time; values
// are otherwise as the API gives them (personal data masked).
import { h, t, when } from '../lib/page.js';

const ISO_TIME = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const UNIT_PATH = /^\/[a-z0-9-]+(\/[a-z0-9-]+)*\/$/;

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** What a value means: its option's label, a unit's name, a time in China time; else itself. */
function scalar(value, key = null, names = {}) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'kv-empty' }, '—');
  const options = key && names.options && names.options[key];
  const known = options && options[typeof value === 'string' ? value : JSON.stringify(value)];
  if (known) return h('span', { title: String(value) }, known);
  if (value === true) return t('Yes');
  if (value === false) return t('No');
  if (typeof value === 'string' && UNIT_PATH.test(value) && names.units && names.units[value]) {
    return h('span', { title: value }, names.units[value]);
  }
  if (typeof value === 'string' && ISO_TIME.test(value)) return h('time', { datetime: value, title: value }, when(value.replace(' ', 'T')));
  return String(value);
}

function joined(items) {
  const out = [];
  items.forEach((item, index) => { if (index) out.push('、'); out.push(item); });
  return out;
}

function value(node, labels, key = null, names = {}) {
  if (Array.isArray(node)) {
    if (!node.length) return h('span', { class: 'kv-empty' }, '—');
    if (node.every(isPlainObject)) {
      const columns = [...new Set(node.flatMap((row) => Object.keys(row)))];
      return h('table', { class: 'kv-table' },
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', title: c }, labels[c] || c)))),
        h('tbody', {}, node.map((row) => h('tr', {}, columns.map((c) => h('td', {}, value(row[c], labels, c, names)))))));
    }
    return h('span', {}, ...joined(node.map((item) => (isPlainObject(item) || Array.isArray(item) ? JSON.stringify(item)
      : scalar(item, key, names)))));
  }
  if (isPlainObject(node)) return renderData(node, { labels, ...names });
  return scalar(node, key, names);
}

/**
 * A <dl> of the object's keys (sorted) and values; `changed` keys are marked. `labels` names the
 * fields and `options` their coded values as the case's forms do (GET /api/v1/cases/{id}/labels);
 * `units` names unit paths; the field's code stays in the tooltip.
 */
export function renderData(data, { changed = new Set(), labels = {}, options = {}, units = {} } = {}) {
  const keys = Object.keys(data || {}).sort((a, b) => (labels[a] || a).localeCompare(labels[b] || b, 'zh-CN'));
  if (!keys.length) return h('p', { class: 'hint' }, t('No data'));
  return h('dl', { class: 'kv' }, keys.flatMap((key) => [
    h('dt', { class: changed.has(key) ? 'kv-changed' : null,
      title: changed.has(key) ? `${key} · ${t('Changed by this step')}` : key }, labels[key] || key),
    h('dd', { class: changed.has(key) ? 'kv-changed' : null }, value(data[key], labels, key, { options, units })),
  ]));
}

/** Top-level keys whose value differs between two data objects. */
export function changedKeys(before, after) {
  const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
  return new Set([...keys].filter((k) => JSON.stringify((before || {})[k]) !== JSON.stringify((after || {})[k])));
}
