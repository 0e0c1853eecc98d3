// The case list: filters kept in the URL (a list can be bookmarked and shared), a table that stacks
// on phones, and paging. Data: GET /api/v1/cases and GET /api/v1/org/units (the area pickers).
// With ?kpi=… (a dashboard figure's link) it lists the cases behind that KPI instead, with the
// dashboard's filters: GET /api/v1/stats/kpis/{kpi}/cases.
import { api, ApiError, attempt, dueClass, h, notify, params, t, user, when } from '../lib/page.js';
import {
  CATEGORIES, CHANNEL, READ_ONLY, RISK, STATUS, areaText, channelName, riskBadge, statusBadge,
} from '../cases/labels.js';
import '../cases/cases.css';

const DEFAULT_PAGE_SIZE = 20;
const form = document.getElementById('case-filters');
const field = (name) => form.elements.namedItem(name);
const FILTERS = ['q', 'town', 'village', 'grid', 'category', 'risk_level', 'status', 'channel', 'from', 'to', 'overdue'];
const DRILL = ['kpi', 'from', 'to', 'area', 'group_by', 'key'];
const drill = (() => {
  const search = new URLSearchParams(window.location.search);
  return search.get('kpi') ? Object.fromEntries(DRILL.filter((k) => search.has(k)).map((k) => [k, search.get(k)])) : null;
})();
let units = [];
let page = 1;
let pageSize = DEFAULT_PAGE_SIZE;  // ?page_size= in a shared link (2 to 100)

function fillOptions(select, entries) {
  const keep = select.value;
  select.replaceChildren(h('option', { value: '' }, t('All')),
    ...entries.map(([value, label]) => h('option', { value }, label)));
  if (entries.some(([value]) => value === keep)) select.value = keep;
}

/** Town, village and grid pickers from the caller's own subtree; a level above the caller is hidden. */
function fillAreas() {
  const town = field('town').value;
  const village = field('village').value;
  const of = (kind, under) => units.filter((u) => u.kind === kind && (!under || u.path.startsWith(under)))
    .map((u) => [u.path, u.name]);
  const levels = { town: of('town'), village: of('village', town), grid: of('grid', village || town) };
  for (const [level, entries] of Object.entries(levels)) {
    const select = field(level);
    fillOptions(select, entries);
    const own = units.length && entries.length === 1 && entries[0][0] === units[0].path;
    const everything = of(level);
    select.closest('.filter').hidden = everything.length === 0 || (own && everything.length === 1);
  }
}

/** URL query -> form. */
function readUrl() {
  const search = new URLSearchParams(window.location.search);
  for (const name of FILTERS) {
    const input = field(name);
    if (input.type === 'checkbox') input.checked = search.get(name) === '1';
    else input.value = search.get(name) || '';
  }
  fillAreas();
  for (const name of ['town', 'village', 'grid']) field(name).value = search.get(name) || '';
  fillAreas();
  page = Math.max(1, parseInt(search.get('page') || '1', 10) || 1);
  const size = parseInt(search.get('page_size') || '', 10);
  pageSize = size >= 2 && size <= 100 ? size : DEFAULT_PAGE_SIZE;
}

/** Form -> URL query (only what is set). */
function writeUrl(push) {
  const search = new URLSearchParams(drill || {});
  for (const name of drill ? [] : FILTERS) {
    const input = field(name);
    const value = input.type === 'checkbox' ? (input.checked ? '1' : '') : input.value.trim();
    if (value) search.set(name, value);
  }
  if (page > 1) search.set('page', String(page));
  if (pageSize !== DEFAULT_PAGE_SIZE) search.set('page_size', String(pageSize));
  const url = `${window.location.pathname}${[...search].length ? `?${search}` : ''}`;
  if (push) window.history.pushState(null, '', url);
  else window.history.replaceState(null, '', url);
}

/** China time: the dates a person picks are local days in Asia/Shanghai. */
function dayStart(day, plusDays = 0) {
  const date = new Date(`${day}T00:00:00+08:00`);
  date.setUTCDate(date.getUTCDate() + plusDays);
  return date.toISOString();
}

function apiQuery() {
  const value = (name) => field(name).value.trim();
  return {
    q: value('q'),
    area: value('grid') || value('village') || value('town'),
    category: value('category'),
    risk_level: value('risk_level'),
    status: value('status'),
    channel: value('channel'),
    created_from: value('from') ? dayStart(value('from')) : '',
    created_to: value('to') ? dayStart(value('to'), 1) : '',
    overdue: field('overdue').checked ? 'true' : '',
    led: params.led ? 'true' : '',  // 我包的案件 (/cases/led)
    handled_at: params.village ? 'village' : '',  // 村级办理, the town's monitoring view (/cases/village)
    page,
    page_size: pageSize,
  };
}

/** One page of the cases behind the KPI of the URL. */
async function drillPage() {
  const { kpi, ...filters } = drill;
  return api(`stats/kpis/${encodeURIComponent(kpi)}/cases`, { query: { ...filters, page, page_size: pageSize } });
}

function cell(label, ...content) {
  return h('td', { 'data-label': label }, ...content);
}

/** Read-only roles (auditors, designers) may not open task pages: the step's name, not a link. */
const readOnly = !user || user.roles.every((role) => READ_ONLY.includes(role));
function taskLink(task) {
  const name = task.name || task.element_id;
  return readOnly ? h('span', {}, name) : h('a', { href: `/tasks/${task.id}` }, name);
}

function row(item) {
  const fields = item.fields || {};
  const steps = item.tasks.length
    ? item.tasks.map((task) => h('div', { class: 'step' },
      taskLink(task),
      task.due_at ? h('span', { class: `due ${dueClass(task.due_at)}` }, ` ${t('due {time}', { time: when(task.due_at) })}`) : null))
    : [h('span', { class: 'muted' }, '—')];
  return h('tr', { class: item.overdue ? 'is-overdue' : '', dataset: { caseId: item.id } },
    cell(t('Case no.'), h('a', { href: `/cases/${item.id}`, class: 'case-no' }, item.case_no)),
    cell(t('Title'), item.title || '—'),
    cell(t('Dispute type'), fields.category || '—'),
    cell(t('Risk'), riskBadge(fields.risk_level)),
    cell(t('Area'), areaText(item.area, item.jurisdiction)),
    cell(t('Status'), statusBadge(item.status)),
    cell(t('Channel'), channelName(item.channel)),
    cell(t('Current step'), ...steps),
    cell(t('Registered at'), when(item.created_at)),
    cell(t('Overdue'), item.overdue ? h('span', { class: 'badge overdue-mark' }, t('Overdue')) : h('span', { class: 'muted' }, '—')));
}

async function load() {
  const error = document.getElementById('filter-error');
  error.hidden = true;
  form.querySelectorAll('[aria-invalid]').forEach((node) => node.removeAttribute('aria-invalid'));
  const from = field('from').value;
  const to = field('to').value;
  if (from && to && from > to) {
    error.textContent = t('The start date is after the end date.');
    error.hidden = false;
    field('to').setAttribute('aria-invalid', 'true');
    return;
  }
  const table = document.getElementById('case-table');
  table.setAttribute('aria-busy', 'true');
  try {
    const answer = drill ? await drillPage() : await api('cases', { query: apiQuery() });
    const pages = Math.max(1, Math.ceil(answer.total / answer.page_size));
    if (answer.total && page > pages) {  // a shared link to a page that no longer exists
      page = pages;
      writeUrl(false);
      await load();
      return;
    }
    document.getElementById('case-rows').replaceChildren(...answer.items.map(row));
    document.getElementById('case-empty').hidden = answer.total > 0;
    table.hidden = answer.total === 0;
    document.getElementById('case-count').textContent = drill
      ? t('{label}: {figure}, {total} cases behind it', answer)
      : t('{total} cases', { total: answer.total });
    const pager = document.getElementById('pager');
    pager.hidden = pages <= 1;
    document.getElementById('page-info').textContent = t('Page {page} of {pages}', { page, pages });
    document.getElementById('page-prev').disabled = page <= 1;
    document.getElementById('page-next').disabled = page >= pages;
  } catch (problem) {
    if (!(problem instanceof ApiError)) throw problem;
    const fields = Object.keys(problem.errors || {});
    error.textContent = problem.message;
    error.hidden = false;
    const names = { created_from: 'from', created_to: 'to', area: 'town', risk_level: 'risk_level' };
    for (const name of fields) {
      const input = field(names[name] || name);
      if (input) input.setAttribute('aria-invalid', 'true');
    }
  } finally {
    table.removeAttribute('aria-busy');
  }
}

function setUp() {
  fillOptions(field('category'), CATEGORIES.map((c) => [c, c]));
  fillOptions(field('risk_level'), Object.entries(RISK));
  fillOptions(field('status'), Object.entries(STATUS));
  fillOptions(field('channel'), Object.entries(CHANNEL));
  const newCase = document.getElementById('new-case');
  if (newCase) newCase.hidden = readOnly;

  for (const name of ['town', 'village']) {
    field(name).addEventListener('change', () => fillAreas());
  }
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    page = 1;
    writeUrl(true);
    attempt(load);
  });
  document.getElementById('filters-reset').addEventListener('click', () => {
    form.reset();
    fillAreas();
    page = 1;
    writeUrl(true);
    attempt(load);
  });
  document.getElementById('page-prev').addEventListener('click', () => {
    page = Math.max(1, page - 1);
    writeUrl(true);
    attempt(load);
  });
  document.getElementById('page-next').addEventListener('click', () => {
    page += 1;
    writeUrl(true);
    attempt(load);
  });
  window.addEventListener('popstate', () => {
    readUrl();
    attempt(load);
  });
}

async function start() {
  setUp();
  if (drill) {  // the filters are the dashboard's: shown, not editable here
    form.hidden = true;
    const note = document.getElementById('drill-note');
    note.hidden = false;
    const shown = [drill.from, drill.to].filter(Boolean).join(' — ');
    note.replaceChildren(t('Cases behind a dashboard figure'), shown ? `（${shown}）` : '', ' ',
      h('a', { href: window.location.pathname }, t('Show all cases')));
  }
  try {
    units = await api('org/units');
  } catch (problem) {
    units = [];
    notify(problem.message, 'error');
  }
  readUrl();
  await load();
}

attempt(start);
