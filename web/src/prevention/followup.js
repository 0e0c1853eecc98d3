// Tab 2: key-person follow-up plans (重点人员跟进). A plan runs as a key_person_followup case: its
// next contact time is in the case data, its contact tasks are in the inbox.
import { api, attempt, dueClass, h, notify, t, when } from '../lib/page.js';
import { $, areaName, emptyRow, personPicker, planStatusName, submitting } from './common.js';

let openPlan = null;

/** The plan's case: next contact time (case data) and an open contact task. */
async function caseState(plan) {
  if (plan.status !== 'active') return null;
  try {
    const found = await api(`cases/${plan.case_id}`);
    const task = (found.tasks || []).find((item) => item.element_id === 'contact' && !item.closed_at);
    return { due: found.data && found.data.next_contact_due, task };
  } catch (error) {
    return null; // the list still shows; the case page tells why
  }
}

function nextContact(plan, state) {
  if (plan.status !== 'active') return h('span', { class: 'hint' }, plan.closed_at ? t('Closed {when}', { when: when(plan.closed_at) }) : '—');
  if (!state) return '—';
  if (state.task) {
    return h('span', {}, h('a', { href: `/tasks/${state.task.id}`, class: dueClass(state.task.due_at) }, t('Contact task open')),
      state.task.due_at ? h('div', { class: 'hint' }, t('due {when}', { when: when(state.task.due_at) })) : '');
  }
  return state.due ? h('span', { class: dueClass(state.due) }, when(state.due)) : '—';
}

function planRow(plan, state) {
  const person = plan.person || { name: `#${plan.person_id}` };
  return h('tr', { dataset: { planId: plan.id } },
    h('td', { 'data-label': t('Person') }, h('strong', {}, person.name),
      person.id_no ? h('div', { class: 'hint' }, person.id_no) : '',
      plan.reason ? h('div', { class: 'note' }, plan.reason) : ''),
    h('td', { 'data-label': t('Area') }, areaName(plan.area_path)),
    h('td', { 'data-label': t('Interval') }, t('every {days} days', { days: plan.interval_days })),
    h('td', { 'data-label': t('Next contact') }, nextContact(plan, state)),
    h('td', { 'data-label': t('Status') }, h('span', { class: `status plan-${plan.status}` }, planStatusName(plan.status))),
    h('td', { 'data-label': t('Case') }, h('a', { href: `/cases/${plan.case_id}` }, plan.case_no)),
    h('td', { class: 'row-actions' },
      h('button', { type: 'button', onclick: () => attempt(() => showPlan(plan.id)) }, t('History')),
      plan.status === 'active' ? h('button', { type: 'button', class: 'danger',
        onclick: () => attempt(() => showPlan(plan.id, { closing: true })) }, t('End plan')) : ''));
}

export async function loadPlans() {
  const plans = await api('prevention/followup-plans', { query: {
    status: $('fp-filter-status').value, area: $('fp-filter-area').value } });
  const states = await Promise.all(plans.map((plan, index) => (index < 50 ? caseState(plan) : null)));
  emptyRow($('fp-rows'), $('fp-empty'), plans.map((plan, index) => planRow(plan, states[index])));
}

const CONTACT_FIELDS = [['method', 'Contact method'], ['reached', 'Reached in person'], ['situation', 'Situation and requests'],
  ['risk_trend', 'Risk trend'], ['needs_report', 'Report to the centre'], ['note', 'Other notes']];
const ACTIONS = { create: 'Plan created', contact: 'Contact recorded', close: 'Plan closed', update: 'Plan changed' };

function historyItem(row) {
  const details = [];
  if (row.action === 'contact') {
    for (const [key, label] of CONTACT_FIELDS) {
      if (row.data[key] === undefined || row.data[key] === '') continue;
      const value = typeof row.data[key] === 'boolean' ? (row.data[key] ? t('Yes') : t('No')) : String(row.data[key]);
      details.push(h('div', {}, h('span', { class: 'hint' }, `${t(label)}：`), value));
    }
  } else if (row.action === 'close' && row.data.close_reason) {
    details.push(h('div', {}, h('span', { class: 'hint' }, `${t('Reason for closing')}：`), row.data.close_reason));
  } else if (row.action === 'create' && row.data.reason) {
    details.push(h('div', {}, h('span', { class: 'hint' }, `${t('Reason for follow-up')}：`), row.data.reason));
  }
  return h('li', { class: `history-${row.action}` },
    h('div', {}, h('strong', {}, t(ACTIONS[row.action] || row.action)), ' ', h('span', { class: 'hint' }, `${when(row.at)} · ${row.actor}`)),
    details);
}

export async function showPlan(id, { closing = false } = {}) {
  const plan = await api(`prevention/followup-plans/${id}`);
  openPlan = plan;
  const person = plan.person || { name: `#${plan.person_id}` };
  $('fp-detail').hidden = false;
  $('fp-detail-title').textContent = t('Follow-up of {name}', { name: person.name });
  const facts = [
    [t('Status'), planStatusName(plan.status)], [t('Area'), areaName(plan.area_path)],
    [t('Interval'), t('every {days} days', { days: plan.interval_days })],
    [t('Responsible unit'), plan.responsible_unit || '—'], [t('Responsible person'), plan.responsible_user || '—'],
    [t('Case'), h('a', { href: `/cases/${plan.case_id}` }, plan.case_no)],
    [t('Created at'), `${when(plan.created_at)} · ${plan.created_by}`],
  ];
  if (plan.closed_at) facts.push([t('Plan ended'), `${when(plan.closed_at)} · ${plan.closed_by} · ${plan.close_reason || ''}`]);
  $('fp-detail-summary').replaceChildren(...facts.flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)]));
  const contacts = plan.history.filter((row) => row.action === 'contact').length;
  $('fp-history').replaceChildren(...plan.history.map(historyItem));
  $('fp-no-contact').hidden = contacts > 0;
  const form = $('fp-close-form');
  form.hidden = plan.status !== 'active';
  $('fp-detail').scrollIntoView({ block: 'start' });
  if (closing && !form.hidden) form.elements.reason.focus();
}

export function initFollowup() {
  const form = $('fp-form');
  const picker = personPicker(form);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(form, async () => {
      const data = form.elements;
      const body = { person_id: data.person_id.value ? Number(data.person_id.value) : null,
        interval_days: data.interval_days.value === '' ? null : Number(data.interval_days.value),
        responsible_unit: data.responsible_unit.value.trim(), reason: data.reason.value.trim() };
      if (data.responsible_user.value.trim()) body.responsible_user = data.responsible_user.value.trim();
      const plan = await api('prevention/followup-plans', { method: 'POST', body });
      notify(t('Follow-up plan created for {name}', { name: plan.person ? plan.person.name : plan.person_id }));
      form.reset();
      picker.reset();
      $('fp-new').open = false;
      $('fp-filter-status').value = 'active';
      await loadPlans();
    }));
  });

  const closeForm = $('fp-close-form');
  closeForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(closeForm, async () => {
      await api(`prevention/followup-plans/${openPlan.id}/close`, { method: 'POST',
        body: { reason: closeForm.elements.reason.value.trim() } });
      notify(t('Plan closed'));
      closeForm.reset();
      await loadPlans();
      await showPlan(openPlan.id);
    }));
  });
  for (const id of ['fp-filter-status', 'fp-filter-area']) $(id).addEventListener('change', () => attempt(loadPlans));
  $('fp-detail-close').addEventListener('click', () => { $('fp-detail').hidden = true; openPlan = null; });
}
