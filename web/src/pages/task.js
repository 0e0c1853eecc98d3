// 任务办理: the task's form (from its JSON Schema), the case summary, the diagram with this step
// highlighted, and the actions the caller may take (GET /api/v1/tasks/{id} says which).
import { api, ApiError, attempt, dueClass, h, notify, params, t, user, when } from '../lib/page.js';
import { renderForm } from '../lib/jsonform.js';
import { caseTrail, createViewer, processName, showTrail, workingEntry } from '../lib/diagram.js';
import '../tasks/tasks.css';
import { actionSpecs, askAndSend, post } from '../tasks/actions.js';
import { dueLabel, goOnWith, isMine, prefill } from '../tasks/common.js';
import { uploadAttachment } from '../lib/files.js';
import { mountDocuments } from '../documents/panel.js';

const taskId = params.task_id;
const notice = document.getElementById('task-notice');
const actionsNode = document.getElementById('task-actions');
const submitNode = document.getElementById('task-submit');
const formNode = document.getElementById('task-form');
let form = null;
let viewer = null;
let documentsShown = false;

const STATES = { ready: t('To do'), completed: t('Done'), cancelled: t('Cancelled') };
const CASE_STATES = { active: t('In progress'), waiting: t('Waiting'), incident: t('Incident'),
  suspended: t('Suspended'), completed: t('Closed'), cancelled: t('Cancelled') };
const RISK = { red: t('Red'), orange: t('Orange'), yellow: t('Yellow'), green: t('Green') };

function showNotice(message, kind = 'error') {
  notice.textContent = message || '';
  notice.dataset.kind = kind;
  notice.hidden = !message;
  if (message) notify(message, kind);
}

function problemText(error) {
  if (!(error instanceof ApiError)) return t('Something went wrong: {message}', { message: error.message });
  if (error.status === 409) return t('{message} (someone has just dealt with this task; the page now shows it as it is)', { message: error.message });
  return error.message;
}

function renderHead(task) {
  const due = dueClass(task.due_at);
  document.getElementById('task-head').replaceChildren(
    h('h1', { id: 'task-title' }, task.name),
    h('p', { class: 'task-meta' },
      h('span', { class: 'case-no' }, task.case_no), ' ', task.case_title || '', ' · ',
      h('span', { class: 'badge' }, STATES[task.state] || task.state), ' ',
      task.state === 'ready' && task.due_at ? h('span', { class: `task-due ${due}` }, t('Due {when}', { when: when(task.due_at) }),
        dueLabel(task.due_at) ? ` · ${dueLabel(task.due_at)}` : '') : null, ' ',
      task.state === 'ready' ? h('span', { class: 'task-holder' }, task.assignee
        ? t('Claimed by {who}', { who: task.assignee_name || task.assignee }) : t('Not claimed')) : null));
  document.title = `${task.name} · ${document.title.split(' · ').pop()}`;
}

function renderSummary(detail) {
  const info = detail.case;
  const parties = (info.parties || []).map((p) => [p.role, p.name, p.phone, p.id_no].filter(Boolean).join(' '));
  const rows = [
    [t('Case number'), h('a', { href: `/cases/${info.id}` }, info.case_no)],
    [t('Dispute title'), info.title],
    [t('Category'), info.category],
    [t('Risk level'), info.risk_level ? h('span', { class: `risk risk-${info.risk_level}` }, RISK[info.risk_level] || info.risk_level) : null],
    [t('Parties'), parties.length ? h('ul', { class: 'parties' }, parties.map((p) => h('li', {}, p))) : null],
    [t('Status'), CASE_STATES[info.status] || info.status],
    [t('Registered'), `${when(info.created_at)} ${info.created_by_name || info.created_by}`],
  ].filter(([, value]) => value);
  document.getElementById('case-summary').replaceChildren(
    h('h2', {}, t('Case summary')),
    h('dl', { class: 'summary' }, rows.flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)])));
}

/** The process this step is in, on its own diagram, opened on the step (the case's trail: anyone who
 * may open the task may read it). */
async function renderDiagram(detail) {
  const trail = await caseTrail(detail.case.id, { fresh: true });
  const holds = (list) => (list || []).includes(detail.element_id);
  // a task still open: its own process; a finished one: where the case is now
  const entry = trail.find((e) => holds(e.active)) || (detail.state === 'ready' && trail.find((e) => holds(e.done)))
    || workingEntry(trail);
  const container = document.getElementById('task-diagram');
  if (!entry) return;
  container.dataset.process = entry.process_key;
  document.getElementById('diagram-title').textContent = t('Process diagram: {name}', { name: processName(entry.xml, entry.process_key) });
  if (!viewer) viewer = createViewer(container);
  await showTrail(viewer, entry, detail.state === 'ready' ? detail.element_id : null);
}

function renderActions(detail) {
  const specs = actionSpecs(detail);
  const allowed = (detail.actions || []).filter((name) => name !== 'complete' && specs[name]);
  actionsNode.replaceChildren(...allowed.map((name) => h('button', {
    type: 'button', class: specs[name].danger ? 'danger' : null, dataset: { action: name },
    onclick: () => runAction(name, specs[name]),
  }, specs[name].label)));
  actionsNode.hidden = !allowed.length;
  const canComplete = (detail.actions || []).includes('complete');
  submitNode.replaceChildren();
  if (canComplete) {
    submitNode.append(h('button', { type: 'button', class: 'primary', id: 'complete', onclick: complete }, t('Complete')));
  } else if (detail.state === 'ready') {
    submitNode.append(h('p', { class: 'hint' }, detail.actions && detail.actions.includes('claim')
      ? t('Claim the task to work on it.') : t('This task is not yours to complete; the form is read-only.')));
  }
}

/** The facts the step decides on (the form's x-facts, written out by the server), read-only. */
function renderFacts(detail) {
  const facts = detail.facts || [];
  document.getElementById('task-facts').hidden = !facts.length;
  document.getElementById('task-facts-list').replaceChildren(
    ...facts.flatMap((fact) => [h('dt', {}, fact.title), h('dd', {}, fact.value)]));
}

function showForm(detail, start) {
  const editable = (detail.actions || []).includes('complete');
  if (!detail.form) {
    formNode.replaceChildren(h('p', { class: 'hint' }, t('This step has no form.')));
    form = null;
    return;
  }
  form = renderForm(formNode, detail.form, start, { readOnly: !editable, showTitle: detail.form.title !== detail.name,
    upload: editable ? (file) => uploadAttachment(detail.case.id, file) : null });
}

/** (Re)load the task; the form keeps what the user typed, else starts from the draft or the case data. */
async function load() {
  const detail = await api(`tasks/${encodeURIComponent(taskId)}`);
  renderHead(detail);
  renderSummary(detail);
  renderFacts(detail);
  let start = form ? form.getData() : null;
  if (!start) {
    start = detail.draft;
    if (!start && detail.form) {
      try {
        start = prefill(detail.form, (await api(`cases/${detail.case.id}`)).data || {});
      } catch (error) { start = {}; }
    }
  }
  showForm(detail, start || {});
  renderActions(detail);
  attempt(() => renderDiagram(detail));
  if (!documentsShown) {
    documentsShown = true;
    mountDocuments(document.getElementById('task-documents'), { caseId: detail.case.id, taskId,
      canWrite: detail.state === 'ready' && detail.actions.length > 0 });
  }
  return detail;
}

async function complete() {
  showNotice('');
  if (!form) return;
  if (form.busy()) {
    showNotice(t('Wait until the files are uploaded.'));
    return;
  }
  if (!form.validate()) {
    showNotice(t('Please correct the marked fields.'));
    return;
  }
  const button = document.getElementById('complete');
  button.disabled = true;
  try {
    const done = await post(taskId, 'complete', { data: form.getData() });
    const next = (done.tasks || []).find((task) => isMine(task, user));
    if (next) {
      notify(t('Done. The next step is yours.'), 'ok');
      await goOnWith(next);
      return;
    }
    finished(done);
    await attempt(async () => {
      const now = await api(`tasks/${encodeURIComponent(taskId)}`);
      renderHead(now);
      await renderDiagram(now);
    });
  } catch (error) {
    button.disabled = false;
    if (error instanceof ApiError && error.status === 422 && Object.keys(error.errors).length) {
      form.showErrors(error.errors);
      showNotice(error.message);
      return;
    }
    showNotice(problemText(error));
    if (error instanceof ApiError && (error.status === 409 || error.status === 404 || error.status === 403)) {
      await attempt(() => load());
    }
  }
}

function finished(done) {
  const steps = (done.tasks || []).map((task) => task.name);
  document.querySelector('.task-main').replaceChildren(h('div', { class: 'done-panel', role: 'status' },
    h('h2', {}, t('The task is completed.')),
    h('p', {}, steps.length ? t('The case moved on to: {steps}', { steps: steps.join('、') }) : t('The case has no open step now.')),
    h('p', { class: 'toolbar' }, h('a', { href: `/cases/${done.id}`, class: 'button' }, t('View the case')),
      h('a', { href: '/inbox', class: 'button primary' }, t('Back to the inbox')))));
  notify(t('The task is completed.'), 'ok');
}

async function runAction(name, spec) {
  showNotice('');
  const send = (body) => post(taskId, name, name === 'resolve' ? { draft: form ? form.getData() : {} } : body);
  try {
    if (spec.schema) {
      const result = await askAndSend(spec, send);
      if (result === null) return;
    } else {
      await send({});
    }
    showNotice(t('{action}: done', { action: spec.label }), 'ok');
    await load();
  } catch (error) {
    showNotice(problemText(error));
    if (error instanceof ApiError && (error.status === 409 || error.status === 404)) await attempt(() => load());
  }
}

attempt(load);
