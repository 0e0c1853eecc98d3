// Shared by the three prevention tabs: labels, the caller's villages and grids, form errors, census search.
import { api, ApiError, attempt, h, t } from '../lib/page.js';

export const $ = (id) => document.getElementById(id);

export const RISK_LEVELS = ['green', 'yellow', 'orange', 'red'];
export function riskName(level) {
  return { green: t('Green (low)'), yellow: t('Yellow (medium)'), orange: t('Orange (high)'), red: t('Red') }[level] || level;
}
export function riskBadge(level) {
  return h('span', { class: `risk risk-${level}` }, riskName(level));
}

export function entryStatusName(status) {
  return { open: t('Not yet handled'), watch: t('Watching'), resolved: t('Defused'), escalated: t('Escalated to a case') }[status]
    || status;
}

export function planStatusName(status) {
  return { active: t('Following up'), closed: t('Plan ended') }[status] || status;
}

/** The villages and grids of my area (org/units), by path. */
export const areas = { list: [], byPath: new Map() };

export async function loadAreas() {
  const units = await api('org/units');
  areas.list = units.filter((unit) => unit.kind === 'village' || unit.kind === 'grid');
  areas.byPath = new Map(units.map((unit) => [unit.path, unit]));
}

/** "杨家湾村 · 第一网格" for a village or grid path. */
export function areaName(path) {
  if (!path) return '';
  const parts = path.split('/').filter(Boolean);
  const names = [];
  for (let i = 1; i <= parts.length; i += 1) {
    const unit = areas.byPath.get(`/${parts.slice(0, i).join('/')}/`);
    if (unit && (unit.kind === 'village' || unit.kind === 'grid')) names.push(unit.name);
  }
  return names.length ? names.join(' · ') : parts[parts.length - 1];
}

function areaLabel(unit) {
  return unit.kind === 'grid' ? `\u3000${areaName(unit.path)}` : unit.name;
}

/** Fill every area picker: forms need one (the unit code), filters may leave it empty. */
export function fillAreaSelects() {
  for (const select of document.querySelectorAll('[data-area-select]')) {
    select.replaceChildren(...areas.list.map((unit) => h('option', { value: unit.code }, areaLabel(unit))));
  }
  for (const select of document.querySelectorAll('[data-area-filter]')) {
    const first = select.querySelector('option[value=""]');
    select.replaceChildren(first, ...areas.list.map((unit) => h('option', { value: unit.code }, areaLabel(unit))));
  }
  for (const select of document.querySelectorAll('[data-risk-select]')) {
    const first = select.querySelector('option[value=""]');
    select.replaceChildren(...(first ? [first] : []), ...RISK_LEVELS.map((level) => h('option', { value: level }, riskName(level))));
  }
}

/** Split "妇联、派出所, 村调委会" into names. */
export function splitNames(text) {
  return String(text || '').split(/[,，、;；\n]+/).map((part) => part.trim()).filter(Boolean);
}

export function clearErrors(form) {
  for (const node of form.querySelectorAll('[data-error-for]')) { node.hidden = true; node.textContent = ''; }
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  if (general) { general.hidden = true; general.textContent = ''; }
}

function errorText(value) {
  if (Array.isArray(value)) return value.map(errorText).join(' ');
  if (value && typeof value === 'object') return Object.values(value).map(errorText).join(' ');
  return String(value);
}

/** Show {field: message} on the fields (nested names such as members.0.name go to "members"). */
export function showErrors(form, errors, message) {
  let placed = false;
  let first = null;
  for (const [field, text] of Object.entries(errors || {})) {
    const key = field.split('.')[0];
    const node = form.querySelector(`[data-error-for="${key}"]`);
    if (!node) continue;
    node.textContent = node.hidden ? errorText(text) : `${node.textContent} ${errorText(text)}`;
    node.hidden = false;
    const input = form.querySelector(`[name="${key}"]`);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      if (node.id) input.setAttribute('aria-errormessage', node.id);
      first = first || input;
    }
    placed = true;
  }
  const general = form.querySelector('.form-error');
  if (general && (!placed || message)) {
    general.textContent = message || '';
    general.hidden = !message;
  }
  if (first) first.focus();
}

/** Run a form submission: field errors of a 422 (or a 409 naming a field) go on the fields. */
export async function submitting(form, action) {
  clearErrors(form);
  const button = form.querySelector('button[type="submit"]');
  if (button) button.disabled = true;
  try {
    return await action();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const errors = { ...error.errors };
    if (error.problem && error.problem.field && !errors[error.problem.field]) errors[error.problem.field] = error.message;
    showErrors(form, errors, error.message);
    return undefined;
  } finally {
    if (button) button.disabled = false;
  }
}

/** Census search for a person picker: by part of the name (the API's `q`) and, optionally, a flag. */
export function personPicker(form, { onPick } = {}) {
  const query = form.querySelector('[data-person-query]');
  const flag = form.querySelector('[data-person-flag]');
  const select = form.querySelector('[data-person-select]');
  const placeholder = select.querySelector('option[value=""]');
  let found = [];

  async function search() {
    const needle = query.value.trim();
    found = await api('census/people', { query: { q: needle, flag: flag ? flag.value : '', limit: 200 } });
    select.replaceChildren(placeholder, ...found.slice(0, 200).map((person) => h('option', { value: person.id },
      `${person.name} · ${person.id_no} · ${areaName(person.grid_path)}`)));
    if (found.length === 1) select.value = String(found[0].id);
    const count = form.querySelector('[data-person-count]') || h('p', { class: 'hint', 'data-person-count': '', 'aria-live': 'polite' });
    count.textContent = found.length ? t('{count} people found', { count: found.length }) : t('No one found in the census of your area');
    if (!count.isConnected) select.after(count);
    if (onPick) onPick(found.find((person) => String(person.id) === select.value));
  }

  form.querySelector('[data-person-search]').addEventListener('click', () => attempt(search));
  query.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') { event.preventDefault(); attempt(search); }
  });
  select.addEventListener('change', () => onPick && onPick(found.find((person) => String(person.id) === select.value)));
  return { reset() { select.replaceChildren(placeholder); select.value = ''; found = []; } };
}

/** A datetime-local value read as Beijing time, sent with its offset. */
export function beijing(value) {
  if (!value) return '';
  return `${value.length === 16 ? `${value}:00` : value}+08:00`;
}

/** Beijing wall time "YYYY-MM-DDTHH:MM" of an instant. */
export function beijingLocal(date) {
  const shifted = new Date(date.getTime() + 8 * 3600 * 1000);
  return shifted.toISOString().slice(0, 16);
}

export function emptyRow(tbody, emptyNode, rows) {
  tbody.replaceChildren(...rows);
  emptyNode.hidden = rows.length > 0;
}
