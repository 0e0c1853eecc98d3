// 警民恳谈会 and service posts: record an event, the issues raised there (a lead or a case in one
// step), and the counts by month.
import { api, attempt, h, notify, t } from '../lib/page.js';
import { $, emptyRow, splitNames, submitting } from '../prevention/common.js';
import { today, unitName, units, vocabularies } from './shared.js';

let current = null;

function outcomeName(issue) {
  if (issue.outcome === 'noted') return t('Noted only');
  const label = issue.outcome === 'lead' ? t('Lead') : t('Case');
  return h('a', { href: `/cases/${issue.case_id}` }, `${label} ${issue.case_no}`);
}

export async function loadEvents() {
  const events = await api('community/events');
  emptyRow($('event-rows'), $('event-empty'), events.map((event) => h('tr', { dataset: { eventId: event.id } },
    h('td', { 'data-label': t('Date') }, event.held_on),
    h('td', { 'data-label': t('Kind') }, event.kind_name),
    h('td', { 'data-label': t('Area') }, unitName(event.area_path)),
    h('td', { 'data-label': t('Venue') }, event.place),
    h('td', { 'data-label': t('Attendees') }, String(event.attendees)),
    h('td', { 'data-label': t('Issues raised') }, String(event.issues.length)),
    h('td', { 'data-label': t('Actions') }, h('button', { type: 'button', onclick: () => openEvent(event) },
      t('Issues'))))));
}

function openEvent(event) {
  current = event;
  $('issue-panel').hidden = false;
  $('issue-title').textContent = `${event.kind_name} · ${event.held_on} · ${event.place}`;
  $('issue-list').replaceChildren(...event.issues.map((issue) => h('li', {}, issue.description, ' — ', outcomeName(issue))));
  const grids = units.list.filter((unit) => unit.kind === 'grid' && unit.path.startsWith(event.area_path));
  $('issue-grid').replaceChildren(h('option', { value: '' }, t("The event's village or town")),
    ...grids.map((unit) => h('option', { value: unit.code }, unitName(unit.path))));
}

export async function loadEventCounts() {
  const year = $('event-year').value || today().slice(0, 4);
  const rows = await api('community/event-counts', { query: { year } });
  $('event-count-rows').replaceChildren(...rows.map((row) => h('tr', {},
    h('td', { 'data-label': t('Month') }, row.month), h('td', { 'data-label': t('Kind') }, row.kind_name),
    h('td', { 'data-label': t('Events held') }, String(row.events)), h('td', { 'data-label': t('Attendees') }, String(row.attendees)),
    h('td', { 'data-label': t('Issues raised') }, String(row.issues)), h('td', { 'data-label': t('Leads') }, String(row.leads)),
    h('td', { 'data-label': t('Cases') }, String(row.cases)))));
}

export function initEvents() {
  $('event-date').value = today();
  $('event-year').value = today().slice(0, 4);
  $('event-campaigns').replaceChildren(...Object.entries(vocabularies.campaigns).map(([code, name]) => h('label',
    { class: 'choice' }, h('input', { type: 'checkbox', name: 'campaigns', value: code }), name)));
  const form = $('event-form');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(form, async () => {
      const data = form.elements;
      const made = await api('community/events', { method: 'POST', body: {
        area: data.area.value, kind: data.kind.value, held_on: data.held_on.value, place: data.place.value.trim(),
        attendees: Number(data.attendees.value || 0), police_present: splitNames(data.police_present.value),
        topics: splitNames(data.topics.value),
        campaigns: [...form.querySelectorAll('input[name="campaigns"]:checked')].map((box) => box.value) } });
      notify(t('{name} recorded', { name: made.kind_name }));
      $('event-new').open = false;
      await Promise.all([loadEvents(), loadEventCounts()]);
      openEvent(made);
    }));
  });
  const issueForm = $('issue-form');
  issueForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(issueForm, async () => {
      const data = issueForm.elements;
      const issue = await api(`community/events/${current.id}/issues`, { method: 'POST', body: {
        description: data.description.value.trim(), raised_by: data.raised_by.value.trim(),
        phone: data.phone.value.trim() || null, grid: data.grid.value || null, outcome: data.outcome.value } });
      notify(issue.case_no ? t('Started {number}', { number: issue.case_no }) : t('Issue recorded'));
      issueForm.reset();
      const fresh = await api(`community/events/${current.id}`);
      openEvent(fresh);
      await Promise.all([loadEvents(), loadEventCounts()]);
    }));
  });
  $('event-counts-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(loadEventCounts); });
}
