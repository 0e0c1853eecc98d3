// Visit hours per worker per day for a week (Monday to Sunday), against the 4-hour daily target.
// Data: GET /api/v1/census/visit-hours?date= (one local day a call).
import { api, h, t } from '../lib/page.js';
import { addDays, mondayOf, today, weekdayName } from './labels.js';

const $ = (id) => document.getElementById(id);
let monday = mondayOf(today());
let current = { grid: undefined };

async function render() {
  const days = [...Array(7).keys()].map((n) => addDays(monday, n));
  const now = today();
  $('hours-week').textContent = t('{from} to {to}', { from: days[0], to: days[6] });
  $('hours-next').disabled = days[6] >= now;
  const answers = await Promise.all(days.map((day) => (day > now ? [] : api('census/visit-hours', { query: { date: day, grid: current.grid } }))));
  const workers = [...new Set(answers.flat().map((entry) => entry.worker))].sort();
  const table = $('hours-table');
  const head = h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('Worker')),
    ...days.map((day) => h('th', { scope: 'col', class: day === now ? 'today' : '' }, weekdayName(day), h('br'), day.slice(5))),
    h('th', { scope: 'col' }, t('Week total'))));
  const rows = workers.map((worker) => {
    let total = 0;
    const cells = days.map((day, index) => {
      if (day > now) return h('td', { class: 'future' }, '');
      const entry = answers[index].find((e) => e.worker === worker);
      const hours = entry ? entry.hours : 0;
      total += hours;
      const under = hours < 4;
      return h('td', { class: under ? (hours === 0 ? 'under zero' : 'under') : 'met', dataset: { day },
        title: entry ? t('{count} visits', { count: entry.visits }) : t('No visits') },
      `${hours}`, under ? h('span', { class: 'sr-only' }, ` ${t('under 4 h')}`) : '');
    });
    return h('tr', { dataset: { worker } }, h('th', { scope: 'row' }, worker), ...cells,
      h('td', { class: 'total' }, `${Math.round(total * 100) / 100}`));
  });
  table.replaceChildren(head, h('tbody', {}, ...rows));
  table.hidden = rows.length === 0;
  $('hours-empty').hidden = rows.length > 0;
}

export function setupHours() {
  $('hours-prev').addEventListener('click', () => { monday = addDays(monday, -7); render(); });
  $('hours-next').addEventListener('click', () => { monday = addDays(monday, 7); render(); });
}

export async function loadHours(grid) {
  current = { grid };
  await render();
}
