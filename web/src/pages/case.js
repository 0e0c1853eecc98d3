// The case page: summary, open tasks, parties (masked; unmasked on request with a reason), comments,
// attachments, the diagram with the path taken and the current steps, and the timeline of events.
import { api, ApiError, attempt, dueClass, h, notify, params, t, user, when } from '../lib/page.js';
import { caseTrail, createViewer, processName, workingEntry } from '../lib/diagram.js';
import {
  READ_ONLY, SUPERVISORS, UNMASK_ROLES, areaText, channelName, hasRole, riskBadge, statusBadge,
} from '../cases/labels.js';
import { askReason } from '../cases/reason.js';
import { fileProblem, size, uploadAttachment } from '../lib/files.js';
import { elementNames, timelineItem } from '../cases/timeline.js';
import '../cases/cases.css';
import { mountDocuments } from '../documents/panel.js';

const caseId = params.case_id;
const $ = (id) => document.getElementById(id);
// Keys that carry personal data wherever they are in case data (api/core/pii.py FIELDS).
const PERSONAL = {
  id_no: t('ID number'), id_number: t('ID number'), idcard: t('ID number'), phone: t('Phone'), mobile: t('Phone'),
  contact_phone: t('Phone'), caller_phone: t("Caller's phone"),
};
const canWrite = Boolean(user) && !user.roles.every((role) => READ_ONLY.includes(role));

let current = null;      // the case
let trail = [];          // [{process_key, version, done, active, xml?}]
let names = new Map();   // element id -> name
let viewer = null;

function summaryRow(label, ...value) {
  return [h('dt', {}, label), h('dd', {}, ...value)];
}

function renderSummary(c) {
  $('case-title').textContent = c.title || c.case_no;
  document.title = `${c.title || c.case_no} · ${document.title.split(' · ').pop()}`;
  $('case-no').textContent = c.case_no;
  $('case-status').replaceChildren(statusBadge(c.status));
  const data = c.data || {};
  const channel = data.source && (!data.channel || data.channel === 'lead') ? data.source : data.channel;
  const deadlines = c.tasks.filter((task) => task.due_at);
  const text = data.summary || data.lead_summary || data.description;
  $('case-summary').replaceChildren(...[
    summaryRow(t('Case no.'), c.case_no),
    summaryRow(t('Title'), c.title || '—'),
    summaryRow(t('Status'), statusBadge(c.status)),
    summaryRow(t('Dispute type'), [data.category, data.category_l2].filter(Boolean).join(' / ') || '—'),
    summaryRow(t('Risk level'), riskBadge(data.risk_level)),
    summaryRow(t('Area'), areaText(c.area, c.jurisdiction)),
    summaryRow(t('Channel'), channelName(channel)),
    text ? summaryRow(t('Dispute summary'), String(text)) : [],
    data.address || data.location ? summaryRow(t('Place'), String(data.address || data.location)) : [],
    summaryRow(t('Registered at'), `${when(c.created_at)}（${c.created_by_name || c.created_by}）`),
    summaryRow(t('First handler'), c.first_handler ? (c.first_handler_name || h('code', {}, c.first_handler))
      : h('span', { class: 'muted' }, t('Not signed for yet'))),
    summaryRow(t('Last change'), when(c.updated_at)),
    c.completed_at ? summaryRow(t('Closed at'), when(c.completed_at)) : [],
    summaryRow(t('Deadlines'), ...(deadlines.length ? deadlines.map((task) => h('span', {
      class: `due ${dueClass(task.due_at)}`,
    }, t('{step} by {time}', { step: task.name, time: when(task.due_at) }), task.overdue ? `（${t('Overdue')}）` : ''))
      : [h('span', { class: 'muted' }, t('None'))])),
  ].flat());
}

function renderTasks(c) {
  const list = $('case-tasks');
  if (!c.tasks.length) {
    list.replaceChildren(h('li', { class: 'muted' }, t('No open task.')));
    return;
  }
  list.replaceChildren(...c.tasks.map((task) => h('li', {},
    canWrite ? h('a', { href: `/tasks/${task.id}` }, task.name || task.element_id)
      : h('span', {}, task.name || task.element_id),  // task pages are for staff, not auditors
    h('span', { class: 'muted' }, task.assignee ? t('held by {who}', { who: task.assignee_name || task.assignee }) : t('not yet taken on')),
    task.due_at ? h('span', { class: dueClass(task.due_at) }, t('due {time}', { time: when(task.due_at) })) : null)));
}

/** Personal fields outside the parties list: [{path, label, value}]. */
function otherPersonal(data, prefix = '', out = []) {
  if (Array.isArray(data)) data.forEach((item, i) => otherPersonal(item, `${prefix}${i}.`, out));
  else if (data && typeof data === 'object') {
    for (const [key, value] of Object.entries(data)) {
      if (!prefix && key === 'parties') continue;
      if (key in PERSONAL && (typeof value === 'string' || typeof value === 'number')) {
        out.push({ path: `${prefix}${key}`, label: PERSONAL[key], value: String(value) });
      } else otherPersonal(value, `${prefix}${key}.`, out);
    }
  }
  return out;
}

function renderParties(c) {
  const data = c.data || {};
  const parties = Array.isArray(data.parties) ? data.parties.filter((p) => p && typeof p === 'object') : [];
  const others = otherPersonal(data);
  const box = $('case-parties');
  const blocks = [];
  if (parties.length) {
    const head = [t('Party role'), t('Name'), t('Phone'), t('ID number')];
    blocks.push(h('table', { class: 'responsive parties' },
      h('thead', {}, h('tr', {}, ...head.map((label) => h('th', { scope: 'col' }, label)))),
      h('tbody', {}, ...data.parties.map((p, i) => (p && typeof p === 'object' ? h('tr', {},
        h('td', { 'data-label': head[0] }, p.role || '—'),
        h('td', { 'data-label': head[1] }, p.name || '—'),
        h('td', { 'data-label': head[2], dataset: { path: `parties.${i}.phone` } }, p.phone || p.mobile || '—'),
        h('td', { 'data-label': head[3], dataset: { path: `parties.${i}.id_no` } }, p.id_no || p.id_number || '—'))
        : null)))));
  }
  if (others.length) {
    blocks.push(h('table', { class: 'responsive parties' }, h('tbody', {}, ...others.map((o) => h('tr', {},
      h('th', { scope: 'row' }, o.label), h('td', { 'data-label': o.label, dataset: { path: o.path } }, o.value))))));
  }
  if (!blocks.length) blocks.push(h('p', { class: 'muted' }, t('No party registered yet.')));
  box.replaceChildren(...blocks);
  $('reveal').hidden = !(hasRole(user, UNMASK_ROLES) && (parties.length || others.length));
}

async function reveal() {
  const reason = await askReason(t('Show full details'),
    t('The real ID numbers and phone numbers are shown only for your work and the view is recorded in the case log. Why do you need them?'));
  if (!reason) return;
  const answer = await api(`cases/${caseId}/personal-data`, { query: { reason } });
  const values = answer.values || {};
  for (const cell of $('case-parties').querySelectorAll('td[data-path]')) {
    const { path } = cell.dataset;
    const candidates = [path, path.replace(/\.phone$/, '.mobile'), path.replace(/\.id_no$/, '.id_number')];
    const found = candidates.find((key) => key in values);
    if (found) {
      cell.textContent = values[found];
      cell.classList.add('revealed');
    }
  }
  $('reveal').hidden = true;
  notify(t('Full details shown; the view was recorded.'));
  await attempt(loadTimeline);
}

async function loadTrail(fresh = false) {
  trail = await caseTrail(caseId, { fresh });
  names = elementNames(trail.map((entry) => entry.xml));
  for (const task of current.tasks) if (!names.has(task.element_id)) names.set(task.element_id, task.name);
}

async function showDiagram(index) {
  const entry = trail[index];
  for (const tab of $('diagram-tabs').children) tab.setAttribute('aria-selected', String(Number(tab.dataset.index) === index));
  $('diagram-missing').hidden = Boolean(entry && entry.xml);
  $('case-diagram').hidden = !(entry && entry.xml);
  if (!entry || !entry.xml) return;
  if (!viewer) viewer = createViewer($('case-diagram'));
  $('case-diagram').dataset.process = entry.process_key;
  await viewer.show(entry.xml, { done: entry.done || [], active: entry.active || [] });
}

async function renderDiagram() {
  const tabs = $('diagram-tabs');
  tabs.hidden = trail.length < 2;
  tabs.replaceChildren(...trail.map((entry, index) => h('button', {
    type: 'button', role: 'tab', dataset: { index, process: entry.process_key }, 'aria-selected': 'false',
    onclick: () => attempt(() => showDiagram(index)),
  }, processName(entry.xml, entry.process_key),
  entry.active && entry.active.length ? h('span', { class: 'tab-open', title: t('Open steps here') }, ' ●') : '')));
  await showDiagram(Math.max(0, trail.indexOf(workingEntry(trail))));
}

async function loadTimeline() {
  const events = [];
  for (let page = 1; ; page += 1) {
    const answer = await api(`cases/${caseId}/events`, { query: { page, page_size: 500 } });
    events.push(...answer.items);
    if (events.length >= answer.total || !answer.items.length) break;
  }
  $('case-timeline').replaceChildren(...events.slice().reverse().map((event) => timelineItem(event, names)));
}

async function loadComments() {
  const comments = await api(`cases/${caseId}/comments`);
  $('case-comments').replaceChildren(...(comments.length ? comments.map((c) => h('li', {},
    h('span', { class: 'meta' }, `${c.author} · ${when(c.at)}`), h('p', { class: 'text' }, c.text)))
    : [h('li', { class: 'muted' }, t('No comment yet.'))]));
}

async function loadAttachments() {
  const files = await api(`cases/${caseId}/attachments`);
  $('case-attachments').replaceChildren(...(files.length ? files.map((f) => h('li', {},
    h('a', { href: `/api/v1/attachments/${f.id}`, download: f.filename }, f.filename),
    h('span', { class: 'meta' }, `${size(f.size)} · ${f.uploaded_by} · ${when(f.uploaded_at)}`)))
    : [h('li', { class: 'muted' }, t('No attachment yet.'))]));
}

function showError(id, message) {
  const node = $(id);
  node.textContent = message || '';
  node.hidden = !message;
}

async function postComment(event) {
  event.preventDefault();
  const box = $('comment-text');
  const text = box.value.trim();
  box.removeAttribute('aria-invalid');
  if (!text) {
    showError('comment-error', t('Write the comment first.'));
    box.setAttribute('aria-invalid', 'true');
    return;
  }
  showError('comment-error', '');
  try {
    await api(`cases/${caseId}/comments`, { method: 'POST', body: { text } });
  } catch (problem) {
    if (!(problem instanceof ApiError)) throw problem;
    showError('comment-error', (problem.errors && problem.errors.text) || problem.message);
    box.setAttribute('aria-invalid', 'true');
    return;
  }
  box.value = '';
  notify(t('Comment posted.'));
  await Promise.all([loadComments(), loadTimeline()]);
}

async function upload(event) {
  event.preventDefault();
  const input = $('upload-file');
  const file = input.files && input.files[0];
  input.removeAttribute('aria-invalid');
  const fail = (message) => {
    showError('upload-error', message);
    input.setAttribute('aria-invalid', 'true');
  };
  if (!file) return fail(t('Choose a file first.'));
  const wrong = fileProblem(file);
  if (wrong) return fail(wrong);
  showError('upload-error', '');
  try {
    await uploadAttachment(caseId, file);
  } catch (problem) {
    if (!(problem instanceof ApiError)) throw problem;
    return fail(problem.status === 413 ? t('The file is too large for the server.') : problem.message);
  }
  input.value = '';
  $('upload-name').textContent = t('No file chosen');
  notify(t('Attachment uploaded.'));
  await Promise.all([loadAttachments(), loadTimeline()]);
  return undefined;
}

async function statusAction(command, title, hint) {
  const reason = await askReason(title, hint, 1);
  if (!reason) return;
  current = { ...current, ...(await api(`cases/${caseId}/${command}`, { method: 'POST', body: { reason } })) };
  notify(t('Done.'));
  await refresh();
}

function renderActions(c) {
  const box = $('case-actions');
  box.hidden = !hasRole(user, SUPERVISORS);
  const open = ['active', 'waiting', 'incident'].includes(c.status);
  $('action-suspend').hidden = !open;
  $('action-resume').hidden = c.status !== 'suspended';
  $('action-cancel').hidden = !(open || c.status === 'suspended');
  if (!open && c.status !== 'suspended') box.hidden = true;
}

async function refresh() {
  const fresh = await api(`cases/${caseId}`);
  current = fresh;
  renderSummary(current);
  renderTasks(current);
  renderParties(current);
  renderActions(current);
  await loadTrail(true);
  await renderDiagram();
  await loadTimeline();
}

async function start() {
  try {
    current = await api(`cases/${caseId}`);
  } catch (problem) {
    if (problem instanceof ApiError && problem.status === 404) {
      $('case-missing').hidden = false;
      return;
    }
    throw problem;
  }
  $('case-page').hidden = false;
  renderSummary(current);
  renderTasks(current);
  renderParties(current);
  renderActions(current);
  $('comment-form').hidden = !canWrite;
  $('upload-form').hidden = !canWrite;
  $('comment-form').addEventListener('submit', (event) => attempt(() => postComment(event)));
  $('upload-form').addEventListener('submit', (event) => attempt(() => upload(event)));
  $('upload-file').addEventListener('change', () => {
    const file = $('upload-file').files[0];
    $('upload-name').textContent = file ? `${file.name}（${size(file.size)}）` : t('No file chosen');
  });
  $('reveal').addEventListener('click', () => attempt(reveal));
  $('action-suspend').addEventListener('click', () => attempt(() => statusAction('suspend', t('Suspend the case'),
    t('Its tasks cannot be completed and its deadlines wait until it is resumed.'))));
  $('action-resume').addEventListener('click', () => attempt(() => statusAction('resume', t('Resume the case'),
    t('Its tasks can be worked on again.'))));
  $('action-cancel').addEventListener('click', () => attempt(() => statusAction('cancel', t('Cancel the case'),
    t('A cancelled case cannot be reopened. The reason is recorded.'))));
  await Promise.all([
    attempt(loadComments),
    attempt(loadAttachments),
    mountDocuments($('case-documents'), { caseId, canWrite,
      onChange: () => Promise.all([loadAttachments(), loadTimeline()]) }),
    attempt(async () => {
      await loadTrail();
      await Promise.all([renderDiagram(), loadTimeline()]);
    }),
  ]);
}

attempt(start);
