// The grid census page (网格排查): people, the other registers by kind, this week's round with the
// visit form, visit hours, change history, import (dry run first) and export. Tab and grid are kept
// in the URL (?tab=&grid=). Everything comes from /api/v1/census, already limited to the caller's area.
import { api, attempt, h, params, t } from '../lib/page.js';
import { canWrite } from '../census/labels.js';
import { loadPeople, setupPeople } from '../census/people.js';
import { loadItems, setupItems } from '../census/items.js';
import { loadRound } from '../census/round.js';
import { loadHours, setupHours } from '../census/hours.js';
import { loadChanges } from '../census/changes.js';
import { setupImport } from '../census/importer.js';
import '../census/census.css';

const $ = (id) => document.getElementById(id);
const ITEM_TABS = ['household', 'house', 'land', 'event', 'thing', 'organisation'];
const TABS = ['people', ...ITEM_TABS, 'round', 'hours', 'changes', 'import'];
const NEEDS_GRID = ['round'];
let units = [];
let grids = [];

function state() {
  const search = new URLSearchParams(window.location.search);
  let tab = search.get('tab') || params.tab || 'people';
  if (!TABS.includes(tab) || (tab === 'import' && !canWrite)) tab = 'people';
  return { tab, grid: search.get('grid') || (grids.length === 1 ? grids[0].code : '') };
}

function writeUrl(tab, grid, push) {
  const search = new URLSearchParams();
  search.set('tab', tab);
  if (grid && grids.length > 1) search.set('grid', grid);
  const url = `${window.location.pathname}?${search}`;
  if (push) window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
}

function updateExport(grid) {
  const link = $('export-link');
  if (grid) {
    link.href = `/api/v1/census/export?grid=${encodeURIComponent(grid)}`;
    link.removeAttribute('aria-disabled');
    link.title = '';
  } else {
    link.removeAttribute('href');
    link.setAttribute('aria-disabled', 'true');
    link.title = t('Choose a grid to export');
  }
}

async function show() {
  const { tab, grid } = state();
  $('c-grid').value = grid;
  updateExport(grid);
  for (const link of document.querySelectorAll('#census-tabs a')) {
    if (link.dataset.tab === tab) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
    link.href = `?tab=${link.dataset.tab}${grid && grids.length > 1 ? `&grid=${encodeURIComponent(grid)}` : ''}`;
  }
  const panel = ITEM_TABS.includes(tab) ? 'items' : tab;
  for (const section of document.querySelectorAll('.census-panel')) section.hidden = section.dataset.panel !== panel;
  const missing = NEEDS_GRID.includes(tab) && !grid;
  $('grid-needed').hidden = !missing;
  if (missing) { $(`panel-${panel}`).hidden = true; return; }
  const unit = grids.find((g) => g.code === grid);
  const gridQuery = grid || undefined;
  if (tab === 'people') await loadPeople(units, gridQuery);
  else if (ITEM_TABS.includes(tab)) await loadItems(units, gridQuery, tab);
  else if (tab === 'round') await loadRound(unit);
  else if (tab === 'hours') await loadHours(gridQuery);
  else if (tab === 'changes') await loadChanges(units, unit && unit.path);
}

async function start() {
  $('tab-import').hidden = !canWrite;
  setupPeople(units);
  setupItems(units);
  setupHours();
  if (canWrite) setupImport();
  units.push(...await api('org/units'));
  grids = units.filter((u) => u.kind === 'grid');
  const select = $('c-grid');
  select.replaceChildren(...(grids.length > 1 ? [h('option', { value: '' }, t('All grids'))] : []),
    ...grids.map((g) => h('option', { value: g.code }, g.name)));
  select.closest('.census-grid-pick').hidden = grids.length <= 1;
  select.addEventListener('change', () => {
    writeUrl(state().tab, select.value, true);
    attempt(show);
  });
  $('census-tabs').addEventListener('click', (event) => {
    const link = event.target.closest('a[data-tab]');
    if (!link || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    writeUrl(link.dataset.tab, select.value, true);
    attempt(show);
  });
  window.addEventListener('popstate', () => attempt(show));
  writeUrl(state().tab, state().grid, false);
  await show();
}

attempt(start);
