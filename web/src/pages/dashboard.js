// The dashboard (统计分析): the KPIs of docs/statistics.md as number cards, breakdowns by town,
// village, dispute type, channel and month (ECharts), the safety ratings table, and the Excel
// export. Filters (registration period, area) live in the URL so a view can be shared.
// Each figure links to /cases?kpi=… (the drill-down, GET /api/v1/stats/kpis/{kpi}/cases).
// Data: GET /api/v1/stats/kpis, /api/v1/stats/kpis.xlsx, /api/v1/stats/safety-ratings, /api/v1/org/units.
import { api, ApiError, attempt, h, notify, t } from '../lib/page.js';
import { chartData, drawChart, percent, resizeCharts } from '../dashboard/charts.js';
import '../dashboard/dashboard.css';
import '../dashboard/campaigns.js'; // the 六大行动 figure, self-contained

const $ = (id) => document.getElementById(id);
const form = $('stats-filters');
const ratingsForm = $('ratings-filters');
const field = (name) => form.elements.namedItem(name);
const GROUPS = ['town', 'village', 'category', 'channel', 'month'];
const RATES = ['resolution_rate', 'on_time_rate', 'satisfaction_rate', 'resident_satisfaction_rate', 'one_key_rate',
  'first_sign_rate'];
const state = { kpis: null, groups: {}, ratings: null };

// Tests read the charts' data and the last answers from here.
window.cunliaoDashboard = { state, chartData };

/** Today in China time, as YYYY-MM-DD. */
function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
}

function query() {
  const value = (name) => field(name).value.trim();
  return { from: value('from'), to: value('to'), area: value('area') };
}

function readUrl() {
  const search = new URLSearchParams(window.location.search);
  const now = today();
  field('from').value = search.has('from') ? search.get('from') : `${now.slice(0, 4)}-01-01`;
  field('to').value = search.get('to') || '';
  field('area').value = search.get('area') || '';
  $('r-level').value = search.get('level') === 'town' ? 'town' : 'village';
  const period = search.get('period') || now.slice(0, 7);
  $('r-span').value = period.length === 4 ? 'year' : 'month';
  $('r-period').value = period.length === 4 ? `${period}-01` : period;
}

function writeUrl() {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries({ ...query(), level: $('r-level').value, period: ratingPeriod() })) {
    if (value) search.set(key, value);
  }
  window.history.replaceState(null, '', `${window.location.pathname}?${search}`);
}

function ratingPeriod() {
  const month = $('r-period').value;
  if (!month) return '';
  return $('r-span').value === 'year' ? month.slice(0, 4) : month;
}

async function loadAreas() {
  const units = await api('org/units');
  const select = field('area');
  const keep = select.value;
  const areas = units.filter((u) => u.kind === 'town' || u.kind === 'village');
  select.replaceChildren(h('option', { value: '' }, t('My whole area')),
    ...areas.map((u) => h('option', { value: u.path }, u.kind === 'village' ? `　${u.name}` : u.name)));
  if (areas.some((u) => u.path === keep)) select.value = keep;
}

/** The case list behind a KPI, with the dashboard's filters: /cases?kpi=…&from=…&to=…&area=… */
function drillUrl(kpi, group = {}) {
  const search = new URLSearchParams(Object.entries({ kpi, ...query(), ...group }).filter(([, v]) => v !== ''));
  return `/cases?${search}`;
}
window.cunliaoDashboard.drillUrl = drillUrl;

function showCards(totals) {
  for (const card of document.querySelectorAll('.kpi')) {
    const name = card.dataset.kpi;
    const value = totals[name];
    const node = card.querySelector('.kpi-value');
    node.textContent = RATES.includes(name) ? percent(value) : String(value);
    // The figure opens the case list of exactly the cases behind it (a rate: its numerator's).
    card.querySelector('.kpi-drill').href = drillUrl(name);
    node.classList.toggle('nonzero', !RATES.includes(name) && value > 0);
  }
  $('kpi-screened-note').textContent = t('{cases} cases, {leads} leads', totals);
  $('kpi-resolved-note').textContent = t('{transferred} guided to legal routes', totals);
  $('kpi-on_time_rate-note').textContent = t('{on_time} of {closed} closed', { on_time: totals.closed_on_time, closed: totals.closed });
  $('kpi-satisfaction_rate-note').textContent = t('{satisfied} of {revisited} revisited', totals);
  // The residents' own ratings (解纷码) stand beside the revisit's, never mixed into it.
  $('kpi-resident_satisfaction_rate-note').textContent = t('{resident_satisfied} of {resident_rated} rated by residents', totals);
}

function showError(error) {
  const box = $('stats-error');
  if (error instanceof ApiError && error.errors && Object.keys(error.errors).length) {
    box.textContent = Object.values(error.errors).join('；');
  } else {
    box.textContent = error.message;
  }
  box.hidden = false;
}

async function loadKpis() {
  $('stats-error').hidden = true;
  const base = query();
  $('export-xlsx').href = `/api/v1/stats/kpis.xlsx?${new URLSearchParams(
    Object.entries({ ...base, group_by: 'village' }).filter(([, v]) => v))}`;
  try {
    const answers = await Promise.all(GROUPS.map((group) => api('stats/kpis', { query: { ...base, group_by: group } })));
    state.kpis = answers[0].totals;
    showCards(state.kpis);
    GROUPS.forEach((group, i) => {
      state.groups[group] = answers[i].groups;
      drawChart(group, $(`chart-${group}`), answers[i].groups, (series, bar) => {
        // resolution_rate drills down to its numerator, like its card.
        const kpi = series === 'resolution_rate' ? 'resolved' : series;
        window.location.assign(drillUrl(kpi, { group_by: group, key: bar.key === null ? '' : bar.key }));
      });
    });
    document.body.dataset.kpisLoaded = String(Date.now());
  } catch (error) {
    showError(error);
  }
}

function ruleList(rules) {
  if (!rules.length) return '—';
  return h('ul', {}, ...rules.map((r) => h('li', { class: r.veto ? 'veto' : '' }, r.label)));
}

async function loadRatings() {
  const period = ratingPeriod();
  if (!period) return;
  const level = $('r-level').value;
  try {
    const body = await api('stats/safety-ratings', { query: { period, level, area: query().area } });
    state.ratings = body;
    $('ratings-rules').textContent = t('Rules version {version}, effective {date} (thresholds proposed, to be confirmed)',
      { version: body.rules_version, date: body.effective_from });
    $('rating-rows').replaceChildren(...body.items.map((item) => h('tr', { dataset: { path: item.path, rating: item.rating } },
      h('th', { scope: 'row', 'data-label': t('Area') }, item.name),
      // 应排尽排: an area with no screening recorded is not rated; the server says why.
      h('td', { class: `rating-${item.rating}`, 'data-label': t('Rating'), title: item.screening.reason }, item.rating_label,
        item.rating === 'unscreened' ? h('small', { class: 'rating-reason' }, item.screening.reason) : null),
      h('td', { 'data-label': t('Disputes screened') }, String(item.kpis.screened)),
      h('td', { 'data-label': t('Resolution rate') }, percent(item.kpis.resolution_rate)),
      h('td', { 'data-label': t('Closed on time') }, percent(item.kpis.on_time_rate)),
      h('td', { 'data-label': t('Satisfaction') }, percent(item.kpis.satisfaction_rate)),
      h('td', { 'data-label': t('Rules failed') }, ruleList(item.failed)))));
    $('ratings-empty').hidden = body.items.length > 0;
  } catch (error) {
    $('rating-rows').replaceChildren();
    notify(error.message, 'error');
  }
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  writeUrl();
  attempt(() => Promise.all([loadKpis(), loadRatings()]));
});
ratingsForm.addEventListener('submit', (event) => {
  event.preventDefault();
  writeUrl();
  attempt(loadRatings);
});
window.addEventListener('resize', resizeCharts);

readUrl();
attempt(async () => {
  await loadAreas();
  readUrl();
  await Promise.all([loadKpis(), loadRatings()]);
});
