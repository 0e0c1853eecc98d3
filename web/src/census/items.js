// Houses, land, events, things, organisations and households: one tab per kind, the columns of the
// import layout. Data: GET /api/v1/census/items?kind= (masked).
import { api, h, t } from '../lib/page.js';
import { ITEM_COLUMNS, cell, gridName, kindName } from './labels.js';

const $ = (id) => document.getElementById(id);
let items = [];
let kind = 'house';

function render(units) {
  const columns = ITEM_COLUMNS[kind];
  const q = $('i-q').value.trim().toLowerCase();
  const text = (value) => (value === undefined || value === null || value === '' ? '—' : String(value));
  const shown = items.filter((item) => !q || JSON.stringify([item.name, item.attributes]).toLowerCase().includes(q));
  $('items-head').replaceChildren(...columns.map(([label]) => h('th', { scope: 'col' }, label)),
    h('th', { scope: 'col' }, t('Grid')));
  $('items-rows').replaceChildren(...shown.map((item) => h('tr', { dataset: { id: item.id } },
    ...columns.map(([label, value], index) => cell(label, index === 0 ? h('strong', {}, text(value(item))) : text(value(item)))),
    cell(t('Grid'), gridName(units, item.grid_path)))));
  $('items-count').textContent = t('{kind}: {shown} of {count}', { kind: kindName(kind), shown: shown.length, count: items.length });
  $('items-empty').hidden = shown.length > 0;
}

export function setupItems(units) {
  $('i-q').addEventListener('input', () => render(units));
  $('items-filter').addEventListener('submit', (event) => { event.preventDefault(); render(units); });
}

export async function loadItems(units, grid, which) {
  kind = which;
  items = await api('census/items', { query: { grid, kind } });
  render(units);
}
