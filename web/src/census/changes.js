// The change history of the census in the caller's area (masked), newest first.
// Data: GET /api/v1/census/changes (no grid filter there: filtered here by the grid's path).
import { api, h, t, when } from '../lib/page.js';
import { cell, gridName, kindName } from './labels.js';

const $ = (id) => document.getElementById(id);

function actionName(action) {
  return { create: t('Created'), update: t('Changed'), personal_data_viewed: t('Personal data viewed') }[action] || action;
}

const FIELD = () => ({ name: t('Name'), id_no: t('ID number'), phone: t('Phone'), address: t('Address'), flags: t('Categories'),
  household_id: t('Household'), grid_path: t('Grid'), attributes: t('Details'), kind: t('Kind') });

function show(value) {
  if (value === null || value === undefined || value === '') return '—';
  if (Array.isArray(value)) return value.join('、') || '—';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function what(change) {
  const snap = change.after || change.before || {};
  const kind = change.target_type === 'item' ? kindName(snap.kind) : kindName('person');
  return `${kind} ${snap.name || `#${change.target_id}`}`;
}

function diff(change, units) {
  if (change.action === 'personal_data_viewed') {
    return t('Reason: {reason}', { reason: (change.after || {}).reason || '' });
  }
  if (change.action === 'create' || !change.before) return t('New record');
  const names = FIELD();
  const before = change.before || {};
  const after = change.after || {};
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter((k) => k !== 'id'
    && JSON.stringify(before[k]) !== JSON.stringify(after[k]));
  if (!keys.length) return t('No visible change');
  const value = (k, v) => (k === 'grid_path' ? gridName(units, v) : show(v));
  return h('ul', { class: 'diff' }, ...keys.map((k) => h('li', {}, `${names[k] || k}：${value(k, before[k])} → ${value(k, after[k])}`)));
}

export async function loadChanges(units, gridPath) {
  const changes = (await api('census/changes', { query: { limit: 300 } }))
    .filter((c) => !gridPath || c.grid_path === gridPath);
  $('changes-rows').replaceChildren(...changes.map((c) => h('tr', {},
    cell(t('Time'), when(c.at)), cell(t('By'), c.actor), cell(t('Action'), actionName(c.action)),
    cell(t('What'), what(c)), cell(t('Changes'), diff(c, units)))));
  $('changes-empty').hidden = changes.length > 0;
}
