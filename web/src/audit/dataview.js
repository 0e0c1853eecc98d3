// A readable, read-only view of case data: keys and values, nested objects as nested lists, lists of
// objects as small tables. Values are shown exactly as the API gives them (personal data masked).
import { h, t } from '../lib/page.js';

function isPlainObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function scalar(value) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'kv-empty' }, '—');
  if (value === true) return t('Yes');
  if (value === false) return t('No');
  return String(value);
}

function value(node, labels) {
  if (Array.isArray(node)) {
    if (!node.length) return h('span', { class: 'kv-empty' }, '—');
    if (node.every(isPlainObject)) {
      const columns = [...new Set(node.flatMap((row) => Object.keys(row)))];
      return h('table', { class: 'kv-table' },
        h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', title: c }, labels[c] || c)))),
        h('tbody', {}, node.map((row) => h('tr', {}, columns.map((c) => h('td', {}, value(row[c], labels)))))));
    }
    return h('span', {}, node.map((item) => (isPlainObject(item) || Array.isArray(item) ? JSON.stringify(item) : scalar(item)))
      .join('、'));
  }
  if (isPlainObject(node)) return renderData(node, { labels });
  return scalar(node);
}

/**
 * A <dl> of the object's keys (sorted) and values; `changed` keys are marked. `labels` names the
 * fields as the case's forms do (GET /api/v1/cases/{id}/labels); the field's code stays in the tooltip.
 */
export function renderData(data, { changed = new Set(), labels = {} } = {}) {
  const keys = Object.keys(data || {}).sort();
  if (!keys.length) return h('p', { class: 'hint' }, t('No data'));
  return h('dl', { class: 'kv' }, keys.flatMap((key) => [
    h('dt', { class: changed.has(key) ? 'kv-changed' : null,
      title: changed.has(key) ? `${key} · ${t('Changed by this step')}` : key }, labels[key] || key),
    h('dd', { class: changed.has(key) ? 'kv-changed' : null }, value(data[key], labels)),
  ]));
}

/** Top-level keys whose value differs between two data objects. */
export function changedKeys(before, after) {
  const keys = new Set([...Object.keys(before || {}), ...Object.keys(after || {})]);
  return new Set([...keys].filter((k) => JSON.stringify((before || {})[k]) !== JSON.stringify((after || {})[k])));
}
