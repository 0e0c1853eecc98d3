// This week's round of one grid: what must be visited or verified, progress, overdue items, and the
// grid worker's visit form (when, where, findings, how long, what it verified).
// Data: GET/POST /api/v1/census/rounds, GET /rounds/{id}, POST /visits, GET /visit-hours.
import { ApiError, api, h, notify, t, user, when } from '../lib/page.js';
import { canRound, canVisit, kindName, mondayOf, today } from './labels.js';

const $ = (id) => document.getElementById(id);
const KIND_LABEL = /^(household|house|land|event|thing|organisation): /;

function itemLabel(entry) {
  const match = entry.label.match(KIND_LABEL);
  if (!match) return [kindName(entry.target_type), entry.label];
  return [kindName(match[1]), entry.label.slice(match[0].length)];
}

function status(entry) {
  if (entry.verified_at) {
    return h('span', { class: entry.overdue ? 'due-over' : 'due-ok' },
      entry.overdue ? t('Verified late, {time}', { time: when(entry.verified_at) }) : t('Verified {time}', { time: when(entry.verified_at) }),
      entry.verified_by ? ` · ${entry.verified_by}` : '');
  }
  if (entry.overdue) return h('span', { class: 'due-over badge' }, t('Overdue'));
  return h('span', { class: 'hint' }, t('To visit'));
}

function progressView(rnd) {
  const p = rnd.progress;
  return h('div', { class: 'round-progress' },
    h('p', {},
      t('Week of {day}', { day: rnd.week_start }), ' · ',
      rnd.closed ? h('span', { class: 'due-over' }, t('Window closed')) : t('Until {time}', { time: when(rnd.window_end) })),
    h('div', { class: 'meter' },
      h('progress', { max: p.total || 1, value: p.verified, 'aria-label': t('Verified') }),
      h('span', { id: 'round-count' }, t('{verified} of {total} verified ({percent}%)', p)),
      p.overdue ? h('span', { class: 'due-over', id: 'round-overdue' }, t('{count} overdue', { count: p.overdue })) : ''));
}

function itemsView(rnd, pickable) {
  const rows = rnd.items.map((entry, index) => {
    const [kind, label] = itemLabel(entry);
    const id = `rv-${index}`;
    const box = pickable && !entry.verified_at
      ? h('input', { type: 'checkbox', id, name: 'verified', value: `${entry.target_type}:${entry.target_id}` }) : null;
    return h('li', { class: `round-item${entry.overdue ? ' overdue' : ''}${entry.verified_at ? ' verified' : ''}` },
      box, h(box ? 'label' : 'span', box ? { for: id, class: 'round-label' } : { class: 'round-label' },
        h('span', { class: 'kind' }, kind), ' ', h('span', { class: 'what' }, label)),
      h('span', { class: 'round-status' }, status(entry)));
  });
  return rows.length ? h('ul', { class: 'round-items', id: 'round-items' }, rows)
    : h('p', { class: 'hint round-empty' }, t('Nothing to verify in this grid yet: import or register people and items first.'));
}

function nowTime() {
  return new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', hour: '2-digit', minute: '2-digit' }).format(new Date());
}

function visitForm(rnd, reload) {
  const field = (id, label, input) => h('div', { class: 'filter' }, h('label', { for: id }, label), input);
  const end = nowTime();
  const [hh, mm] = end.split(':').map(Number);
  const start = `${String(Math.max(0, hh - 1)).padStart(2, '0')}:${String(mm).padStart(2, '0')}`;
  const error = h('p', { class: 'field-error', role: 'alert', id: 'visit-error', hidden: true });
  const result = h('p', { class: 'visit-result', id: 'visit-result', 'aria-live': 'polite' });
  const form = h('form', { id: 'visit-form', class: 'visit-form', novalidate: true },
    h('h3', {}, t('Record a visit')),
    h('p', { class: 'hint' }, t('Tick above what this visit verified.')),
    h('div', { class: 'visit-grid' },
      field('v-date', t('Date'), h('input', { id: 'v-date', type: 'date', required: true, value: today(), max: today() })),
      field('v-start', t('Start time'), h('input', { id: 'v-start', type: 'time', required: true, value: start })),
      field('v-hours', t('Hours'), h('input', { id: 'v-hours', type: 'number', required: true, min: '0.25', max: '16', step: '0.25', value: '1' })),
      field('v-location', t('Where'), h('input', { id: 'v-location', required: true, maxlength: '300', placeholder: t('e.g. Group 3 of the village') }))),
    field('v-findings', t('Findings'), h('textarea', { id: 'v-findings', maxlength: '5000', rows: '3' })),
    error,
    h('div', { class: 'toolbar' }, h('button', { type: 'submit', class: 'primary' }, t('Save visit'))),
    result);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    error.hidden = true;
    const day = $('v-date').value;
    const hours = parseFloat($('v-hours').value);
    const location = $('v-location').value.trim();
    const problems = [];
    if (!day || !$('v-start').value) problems.push(t('Give the date and start time.'));
    if (!(hours > 0 && hours <= 16)) problems.push(t('Hours must be between 0.25 and 16.'));
    if (!location) problems.push(t('Say where the visit was.'));
    if (problems.length) { error.textContent = problems.join(' '); error.hidden = false; return; }
    const started = new Date(`${day}T${$('v-start').value}:00+08:00`);
    const ended = new Date(started.getTime() + hours * 3600 * 1000);
    const verified = [...document.querySelectorAll('#round-items input[name="verified"]:checked')].map((box) => {
      const [type, id] = box.value.split(':');
      return { target_type: type, target_id: Number(id) };
    });
    const button = form.querySelector('button[type="submit"]');
    button.disabled = true;
    try {
      await api('census/visits', { method: 'POST', body: {
        round_id: rnd.id, started_at: started.toISOString(), ended_at: ended.toISOString(), location,
        findings: $('v-findings').value, verified } });
      const totals = await api('census/visit-hours', { query: { date: day, grid: rnd.grid_path } });
      await reload();
      const mine = totals.find((entry) => entry.worker === (user || {}).username) || totals[0];
      const text = t('Visit saved: {count} verified. Your visits on {day}: {hours} h of the 4 h target.',
        { count: verified.length, day, hours: mine ? mine.hours : hours });
      $('visit-result').textContent = text;
      $('visit-result').className = `visit-result ${mine && mine.meets_target ? 'due-ok' : 'due-soon'}`;
      notify(t('Visit saved.'));
    } catch (failure) {
      if (!(failure instanceof ApiError)) throw failure;
      const fields = Object.values(failure.errors || {}).flat();
      error.textContent = [failure.message, ...fields].join(' ');
      error.hidden = false;
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/** Show the round of the week for `grid` (a unit); `week` is a Monday, default this week's. */
export async function loadRound(grid, week) {
  const body = $('round-body');
  const monday = week || mondayOf(today());
  const rounds = await api('census/rounds', { query: { grid: grid.code } });
  const current = rounds.find((r) => r.week_start === monday);
  const picker = h('select', { id: 'round-week', 'aria-label': t('Week') },
    ...[...new Set([mondayOf(today()), ...rounds.map((r) => r.week_start)])].sort().reverse()
      .map((day) => h('option', { value: day, selected: day === monday }, day === mondayOf(today())
        ? t('This week ({day})', { day }) : t('Week of {day}', { day }))));
  picker.addEventListener('change', () => loadRound(grid, picker.value));
  const head = h('div', { class: 'toolbar' }, h('label', { for: 'round-week', class: 'inline' }, t('Week')), picker,
    h('span', { class: 'hint' }, grid.name));
  if (!current) {
    const start = canRound && monday === mondayOf(today())
      ? h('button', { type: 'button', class: 'primary', id: 'round-start' }, t('Start this week\'s round')) : null;
    if (start) {
      start.addEventListener('click', async () => {
        start.disabled = true;
        try {
          await api('census/rounds', { method: 'POST', body: { grid: grid.code, week_start: monday } });
          await loadRound(grid, monday);
        } catch (failure) {
          start.disabled = false;
          if (!(failure instanceof ApiError)) throw failure;
          notify(failure.message, 'error');
        }
      });
    }
    body.replaceChildren(head, h('p', { class: 'hint', id: 'round-none' }, t('There is no round for this week yet.')), start);
    return;
  }
  const rnd = await api(`census/rounds/${current.id}`);
  const pickable = canVisit;
  body.replaceChildren(head, progressView(rnd), itemsView(rnd, pickable),
    pickable ? visitForm(rnd, () => refresh(grid, monday)) : '');
}

async function refresh(grid, monday) {
  const rounds = await api('census/rounds', { query: { grid: grid.code } });
  const current = rounds.find((r) => r.week_start === monday);
  const rnd = await api(`census/rounds/${current.id}`);
  const old = $('round-items') || document.querySelector('#round-body .round-empty');
  const fresh = itemsView(rnd, canVisit);
  document.querySelector('#round-body .round-progress').replaceWith(progressView(rnd));
  if (old) old.replaceWith(fresh);
}
