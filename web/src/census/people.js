// The people tab: everyone registered in the caller's area (or one grid), masked, with a search box
// and a category filter. Data: GET /api/v1/census/people (at most 1,000 a page; filtered here).
import { api, h, t } from '../lib/page.js';
import { FLAGS, cell, gridName } from './labels.js';

const LIMIT = 1000;
const $ = (id) => document.getElementById(id);
let people = [];

function flagBadges(flags) {
  return flags.map((flag) => h('span', { class: `badge flag flag-${FLAGS.indexOf(flag)}` }, flag));
}

function render(units) {
  const q = $('p-q').value.trim().toLowerCase();
  const flag = $('p-flag').value;
  const shown = people.filter((p) => (!flag || p.flags.includes(flag)) && (!q || [p.name, p.address, p.id_no, p.phone || '']
    .some((text) => (text || '').toLowerCase().includes(q))));
  $('people-rows').replaceChildren(...shown.map((p) => h('tr', { dataset: { id: p.id } },
    cell(t('Name'), h('strong', {}, p.name)),
    cell(t('ID number'), h('span', { class: 'mono' }, p.id_no)),
    cell(t('Phone'), h('span', { class: 'mono' }, p.phone || '—')),
    cell(t('Categories'), ...flagBadges(p.flags)),
    cell(t('Address'), p.address || '—'),
    cell(t('Grid'), gridName(units, p.grid_path)))));
  $('people-count').textContent = people.length >= LIMIT
    ? t('{shown} of the first {count} people', { shown: shown.length, count: people.length })
    : t('{shown} of {count} people', { shown: shown.length, count: people.length });
  $('people-empty').hidden = shown.length > 0;
}

export function setupPeople(units) {
  const select = $('p-flag');
  select.append(...FLAGS.map((flag) => h('option', { value: flag }, flag)));
  $('p-q').addEventListener('input', () => render(units));
  select.addEventListener('change', () => render(units));
  $('people-filter').addEventListener('submit', (event) => { event.preventDefault(); render(units); });
}

export async function loadPeople(units, grid) {
  people = await api('census/people', { query: { grid, limit: LIMIT } });
  render(units);
}
