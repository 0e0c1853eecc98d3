// Tab 1: risk-family joint screening lists (婚姻家庭风险联合排查) and their entries.
import { api, attempt, h, notify, t, when } from '../lib/page.js';
import {
  $, areaName, clearErrors, emptyRow, entryStatusName, personPicker, RISK_LEVELS, riskBadge, riskName, showErrors,
  splitNames, submitting,
} from './common.js';

const INDICATORS = ['家暴', '离婚诉讼', '分居', '财产纠纷', '婆媳矛盾', '赡养纠纷', '子女抚养', '酗酒赌博'];
let current = null; // the open list's id

function listRow(row) {
  return h('tr', { dataset: { listId: row.id } },
    h('td', { 'data-label': t('Title') }, h('button', { type: 'button', class: 'link', onclick: () => attempt(() => openList(row.id)) }, row.title)),
    h('td', { 'data-label': t('Area') }, areaName(row.area_path)),
    h('td', { 'data-label': t('Period') }, row.period || '—'),
    h('td', { 'data-label': t('Joint screeners') }, row.screeners.join('、') || '—'),
    h('td', { 'data-label': t('Created at') }, when(row.created_at)),
    h('td', { class: 'row-actions' }, h('button', { type: 'button', onclick: () => attempt(() => openList(row.id)) }, t('Open list'))));
}

export async function loadLists() {
  const rows = await api('prevention/screening-lists', { query: { area: $('sl-filter-area').value } });
  emptyRow($('sl-rows'), $('sl-empty'), rows.map(listRow));
}

async function patchEntry(entry, change) {
  const answer = await api(`prevention/screening-entries/${entry.id}`, { method: 'PATCH', body: change });
  const row = document.querySelector(`#se-rows tr[data-entry-id="${entry.id}"]`);
  if (row) row.replaceWith(entryRow(answer));
  notify(t('Entry updated'));
}

function escalateForm(entry, cell) {
  const id = `esc-summary-${entry.id}`;
  const form = h('form', { class: 'escalate-form', novalidate: true },
    h('label', { for: id }, t('Summary for the case (optional)')),
    h('textarea', { id, name: 'summary', rows: 2, maxlength: 2000 }),
    h('p', { class: 'field-error', 'data-error-for': 'summary', hidden: true }),
    h('p', { class: 'field-error form-error', role: 'alert', hidden: true }),
    h('div', { class: 'toolbar' },
      h('button', { type: 'submit', class: 'primary' }, t('Confirm escalation')),
      h('button', { type: 'button', onclick: () => form.remove() }, t('Cancel'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(form, async () => {
      const answer = await api(`prevention/screening-entries/${entry.id}/escalate`, { method: 'POST',
        body: { summary: form.elements.summary.value.trim() } });
      notify(t('Escalated to case {id}', { id: answer.case_no || answer.case_id }));
      const row = document.querySelector(`#se-rows tr[data-entry-id="${entry.id}"]`);
      if (row) row.replaceWith(entryRow(answer));
    }));
  });
  cell.append(form);
  form.elements.summary.focus();
}

function entryRow(entry) {
  const who = [h('strong', {}, entry.subject)];
  const personal = entry.person ? [entry.person.id_no, entry.person.phone] : [entry.id_no, entry.phone];
  const shown = personal.filter(Boolean).join(' · ');
  if (shown) who.push(h('div', { class: 'hint' }, shown));
  if (entry.person) who.push(h('div', { class: 'hint' }, t('Census person')));
  if (entry.note) who.push(h('div', { class: 'note' }, entry.note));

  const escalated = entry.status === 'escalated';
  const riskCell = h('td', { 'data-label': t('Risk level') }, riskBadge(entry.risk_level));
  const statusCell = h('td', { 'data-label': t('Status') }, h('span', { class: `status status-${entry.status}` }, entryStatusName(entry.status)));
  const actions = h('td', { class: 'row-actions' });
  if (escalated) {
    actions.append(h('a', { href: `/cases/${entry.case_id}`, class: 'case-link' }, entry.case_no || t('Case {id}', { id: entry.case_id })));
  } else {
    const risk = h('select', { 'aria-label': t('Change risk level of {name}', { name: entry.subject }), class: 'auto-width' },
      ...RISK_LEVELS.map((level) => h('option', { value: level, selected: level === entry.risk_level }, riskName(level))));
    risk.addEventListener('change', () => attempt(() => patchEntry(entry, { risk_level: risk.value })));
    riskCell.append(' ', risk);
    const status = h('select', { 'aria-label': t('Change status of {name}', { name: entry.subject }), class: 'auto-width' },
      ...['open', 'watch', 'resolved'].map((code) => h('option', { value: code, selected: code === entry.status }, entryStatusName(code))));
    status.addEventListener('change', () => attempt(() => patchEntry(entry, { status: status.value })));
    statusCell.replaceChildren(status);
    actions.append(h('button', { type: 'button', class: 'escalate', onclick: (event) => {
      if (!actions.querySelector('form')) escalateForm(entry, actions);
      event.currentTarget.blur();
    } }, t('Escalate to a case')));
  }
  return h('tr', { dataset: { entryId: entry.id, status: entry.status, risk: entry.risk_level }, class: `entry risk-row-${entry.risk_level}` },
    h('td', { 'data-label': t('Household or person') }, who),
    h('td', { 'data-label': t('Risk indicators') }, entry.indicators.map((name) => h('span', { class: 'tag' }, name))),
    riskCell,
    h('td', { 'data-label': t('Joint screeners') }, entry.screeners.join('、') || '—'),
    statusCell,
    actions);
}

export async function openList(id, { keepScroll = false } = {}) {
  const detail = await api(`prevention/screening-lists/${id}`, {
    query: { status: $('se-filter-status').value, risk_level: $('se-filter-risk').value } });
  current = id;
  $('sl-detail').hidden = false;
  $('sl-detail-title').textContent = detail.title;
  $('sl-detail-meta').textContent = [areaName(detail.area_path), detail.period,
    detail.screeners.length ? t('Screeners: {names}', { names: detail.screeners.join('、') }) : ''].filter(Boolean).join(' · ');
  emptyRow($('se-rows'), $('se-empty'), detail.entries.map(entryRow));
  if (!keepScroll) $('sl-detail').scrollIntoView({ block: 'start' });
}

function entryBody(form) {
  const data = form.elements;
  const indicators = [...form.querySelectorAll('input[name="indicators"]:checked')].map((box) => box.value)
    .concat(splitNames(data.indicators_other.value));
  const body = { indicators, risk_level: data.risk_level.value, status: data.status.value, note: data.note.value.trim() };
  if (data.person_id.value) body.person_id = Number(data.person_id.value);
  if (data.subject.value.trim()) body.subject = data.subject.value.trim();
  if (data.id_no.value.trim()) body.id_no = data.id_no.value.trim();
  if (data.phone.value.trim()) body.phone = data.phone.value.trim();
  return body;
}

export function initScreening() {
  $('se-indicators').replaceChildren(...INDICATORS.map((name, index) => h('label', { class: 'choice', for: `se-ind-${index}` },
    h('input', { type: 'checkbox', id: `se-ind-${index}`, name: 'indicators', value: name }), ' ', name)));

  $('sl-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const form = event.currentTarget;
    attempt(() => submitting(form, async () => {
      const data = form.elements;
      const made = await api('prevention/screening-lists', { method: 'POST', body: {
        area: data.area.value, title: data.title.value.trim(), period: data.period.value.trim(),
        screeners: splitNames(data.screeners.value) } });
      notify(t('Screening list created'));
      form.reset();
      $('sl-new').open = false;
      await loadLists();
      await openList(made.id);
    }));
  });

  const entryForm = $('se-form');
  const picker = personPicker(entryForm, { onPick: (person) => {
    entryForm.elements.subject.placeholder = person ? person.name : t('e.g. Chen household');
  } });
  entryForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(entryForm, async () => {
      const body = entryBody(entryForm);
      const local = {};
      if (!body.indicators.length) local.indicators = t('Choose or write at least one indicator');
      if (!body.risk_level) local.risk_level = t('Choose a risk level');
      if (!body.subject && !body.person_id) local.subject = t('Choose a census person or write a name');
      if (Object.keys(local).length) { showErrors(entryForm, local, ''); return; }
      await api(`prevention/screening-lists/${current}/entries`, { method: 'POST', body });
      notify(t('Entry added'));
      entryForm.reset();
      picker.reset();
      clearErrors(entryForm);
      await openList(current, { keepScroll: true });
    }));
  });

  $('sl-filter-area').addEventListener('change', () => attempt(loadLists));
  for (const id of ['se-filter-status', 'se-filter-risk']) {
    $(id).addEventListener('change', () => current && attempt(() => openList(current, { keepScroll: true })));
  }
  $('sl-detail-close').addEventListener('click', () => { $('sl-detail').hidden = true; current = null; });
}
