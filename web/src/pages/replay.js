// The auditor's replay player: step through a case's events and see, as of each step, the event with
// its hashes, the diagram with the path so far and the open tasks, and the case data; the chain
// verification at the top; the audit bundle for offline checking. The step is kept in the URL (?at=N).
import { api, attempt, h, notify, params, t, when } from '../lib/page.js';
import { caseTrail, createViewer, definitionXml, processName } from '../lib/diagram.js';
import { changedKeys, renderData } from '../audit/dataview.js';
import { eventType, shortHash, statusName } from '../audit/labels.js';
import { elementNames } from '../cases/timeline.js';
import { renderVerdict, verifyCase } from '../audit/verify.js';
import '../audit/audit.css';

const caseId = params.case_id;
let names = { labels: {}, options: {}, units: {} }; // field code -> title, coded values -> meaning, unit path -> name
let stepNames = new Map(); // element id -> its name in the case's diagrams
let formTitles = {}; // form key -> its title
const $ = (id) => document.getElementById(id);
const ui = {
  title: $('replay-title'), sub: $('replay-sub'), verdict: $('verify-result'), again: $('verify-again'),
  first: $('step-first'), prev: $('step-prev'), next: $('step-next'), last: $('step-last'), slider: $('step-slider'),
  label: $('step-label'), list: $('step-list'), event: $('event-detail'), tabs: $('process-tabs'),
  diagram: $('diagram'), tasks: $('open-tasks'), data: $('case-data'), main: document.querySelector('.replay-main'),
};

let caseInfo = null;
let events = [];
let current = 0;
let chosenProcess = null; // a process tab the auditor picked at this step
const historyCache = new Map(); // at -> Promise of the history answer
const viewer = createViewer(ui.diagram);
let latestVersions = null;
let processNames = {};

async function loadEvents() {
  const all = [];
  for (let page = 1; ; page += 1) {
    const answer = await api(`cases/${caseId}/events`, { query: { page, page_size: 1000 } });
    all.push(...answer.items);
    if (all.length >= answer.total || !answer.items.length) break;
  }
  return all;
}

function history(at) {
  if (!historyCache.has(at)) {
    const pending = api(`cases/${caseId}/history`, { query: { at } });
    pending.catch(() => historyCache.delete(at)); // a failed answer is asked again next time
    historyCache.set(at, pending);
  }
  return historyCache.get(at);
}

async function definitionsIndex() {
  if (!latestVersions) {
    latestVersions = api('definitions').then((list) => {
      const versions = {};
      for (const d of list) { versions[d.key] = d.version; processNames[d.key] = d.name || d.key; }
      return versions;
    });
  }
  return latestVersions;
}

/** Which deployed version to draw for a trail entry: the entry's own, the case's for its top process. */
async function versionOf(entry) {
  if (entry.version) return entry.version;
  if (entry.process_key === caseInfo.process_key) return caseInfo.definition_version;
  return (await definitionsIndex())[entry.process_key];
}

function focusOf(event) {
  const task = event && event.payload && event.payload.task;
  return task ? task.element_id : null;
}

/** The process to show: the deepest one with open work (a step that moved into a called process
 * shows that process); when nothing is open, the one the event's element belongs to. */
function defaultProcess(trail, event) {
  const focus = focusOf(event);
  const withWork = trail.filter((e) => e.active && e.active.length);
  if (withWork.length) return withWork[withWork.length - 1].process_key;
  const holding = trail.filter((e) => focus && (e.done || []).includes(focus));
  if (holding.length) return holding[holding.length - 1].process_key;
  return trail.length ? trail[0].process_key : caseInfo.process_key;
}

/** The step an event is about, by its name in the diagram (a task's name, not just "完成任务"). */
function stepOf(event) {
  const p = event.payload || {};
  const id = (p.task && p.task.element_id) || p.element_id || p.to_element;
  return id ? (stepNames.get(id) || id) : '';
}

function renderSteps() {
  ui.list.replaceChildren(...events.map((event) => {
    const step = stepOf(event);
    return h('li', {},
      h('button', { type: 'button', dataset: { seq: event.seq }, onclick: () => go(event.seq) },
        h('span', { class: 'seq' }, `${event.seq}.`), step ? `${eventType(event.type)}：${step}` : eventType(event.type),
        h('span', { class: 'meta' }, `${event.actor_name || event.actor} · ${when(event.at)}`)));
  }));
}

function renderEvent(event, snapshot, before) {
  const focus = focusOf(event);
  const rows = [
    [t('Step'), t('{seq} of {total}', { seq: event.seq, total: events.length })],
    [t('Event type'), h('span', {}, eventType(event.type), ' ', h('code', { class: 'hint' }, event.type))],
    [t('Actor'), event.actor_name ? h('span', {}, event.actor_name, ' ', h('code', {}, event.actor)) : h('code', {}, event.actor)],
    [t('Time'), h('time', { datetime: event.at }, when(event.at))],
  ];
  if (focus) rows.push([t('Task'), h('span', { id: 'event-task', title: focus }, stepNames.get(focus) || focus)]);
  if (event.payload && event.payload.form) {
    const form = event.payload.form;
    rows.push([t('Form'), formTitles[form] ? h('span', { title: form }, formTitles[form]) : h('code', {}, form)]);
  }
  if (event.payload && event.payload.reason) rows.push([t('Reason'), event.payload.reason]);
  rows.push([t('Case status after this step'), statusName(snapshot.status)]);
  rows.push([t('Hash'), h('span', { class: 'hash', id: 'event-hash' }, event.hash)]);
  rows.push([t('Previous hash'), h('span', { class: 'hash', id: 'event-prev-hash' }, event.prev_hash)]);
  const payload = event.payload && Object.keys(event.payload).length
    ? h('details', { class: 'event-payload' }, h('summary', {}, t('Event content (as recorded, personal data masked)')),
      renderData(event.payload, names))
    : null;
  ui.event.replaceChildren(h('dl', { class: 'summary event-summary' },
    rows.flatMap(([label, value]) => [h('dt', {}, label), h('dd', {}, value)])), payload);
  if (snapshot.incident) {
    ui.event.append(h('p', { class: 'problem' }, t('Incident: {message}', {
      message: snapshot.incident.message || snapshot.incident.error || JSON.stringify(snapshot.incident) })));
  }
}

function renderTasks(snapshot) {
  const tasks = snapshot.open_tasks || [];
  if (!tasks.length) {
    ui.tasks.replaceChildren(h('p', { class: 'hint' }, t('No open tasks at this step.')));
    return;
  }
  ui.tasks.replaceChildren(h('ul', { class: 'open-tasks' }, tasks.map((task) => h('li', { dataset: { element: task.element_id } },
    h('strong', {}, task.name || task.element_id), task.lane ? ` · ${task.lane}` : '',
    task.process_key && task.process_key !== caseInfo.process_key
      ? h('span', { class: 'hint' }, ` （${processNames[task.process_key] || task.process_key}）`) : ''))));
}

async function renderDiagram(snapshot, event) {
  const trail = snapshot.trail && snapshot.trail.length ? snapshot.trail
    : [{ process_key: caseInfo.process_key, done: snapshot.path || [], active: (snapshot.open_tasks || []).map((x) => x.element_id) }];
  // the XML deployed with the case's own version (a called process may have newer versions since)
  const deployed = await caseTrail(caseId);
  const xmlOf = (key) => (deployed.find((e) => e.process_key === key) || {}).xml;
  const shown = (chosenProcess && trail.find((e) => e.process_key === chosenProcess))
    || trail.find((e) => e.process_key === defaultProcess(trail, event)) || trail[0];
  ui.tabs.replaceChildren(...trail.map((entry) => h('button', {
    type: 'button', role: 'tab', 'aria-selected': entry === shown ? 'true' : 'false', dataset: { process: entry.process_key },
    onclick: () => { chosenProcess = entry.process_key; attempt(() => show(current)); },
  }, processNames[entry.process_key] || processName(xmlOf(entry.process_key), entry.process_key))));
  ui.diagram.dataset.process = shown.process_key;
  const xml = xmlOf(shown.process_key) || await definitionXml(shown.process_key, await versionOf(shown));
  const focus = focusOf(event);
  await viewer.show(xml, { done: shown.done || [], active: shown.active || [], focus });
}

function renderControls() {
  const total = events.length;
  ui.first.disabled = ui.prev.disabled = current <= 1;
  ui.next.disabled = ui.last.disabled = current >= total;
  ui.slider.max = String(total);
  ui.slider.value = String(current);
  ui.slider.setAttribute('aria-valuetext', t('{seq} of {total}', { seq: current, total }));
  ui.label.textContent = t('Step {seq} of {total}', { seq: current, total });
  for (const button of ui.list.querySelectorAll('button')) {
    const on = Number(button.dataset.seq) === current;
    if (on) {
      button.setAttribute('aria-current', 'step');
      button.scrollIntoView({ block: 'nearest' });
    } else button.removeAttribute('aria-current');
  }
}

async function show(at) {
  const event = events[at - 1];
  ui.main.classList.add('loading');
  try {
    const [snapshot, before] = await Promise.all([history(at), at > 1 ? history(at - 1) : Promise.resolve(null)]);
    if (at !== current) return; // the auditor has moved on meanwhile
    renderEvent(event, snapshot, before);
    renderTasks(snapshot);
    ui.data.replaceChildren(renderData(snapshot.data, {
      changed: before ? changedKeys(before.data, snapshot.data) : new Set(), ...names }));
    await renderDiagram(snapshot, event);
  } finally {
    if (at === current) ui.main.classList.remove('loading');
  }
  if (at !== current) return;
  ui.main.dataset.step = String(at);
  // the neighbours, so that the next click answers at once
  if (at < events.length) history(at + 1);
  if (at > 1) history(at - 1);
}

function go(at) {
  if (!events.length) return;
  const target = Math.max(1, Math.min(events.length, Number(at) || 1));
  if (target !== current) chosenProcess = null;
  current = target;
  const url = new URL(window.location.href);
  url.searchParams.set('at', String(current));
  window.history.replaceState(null, '', url);
  renderControls();
  attempt(() => show(current));
}

function bindControls() {
  ui.first.addEventListener('click', () => go(1));
  ui.prev.addEventListener('click', () => go(current - 1));
  ui.next.addEventListener('click', () => go(current + 1));
  ui.last.addEventListener('click', () => go(events.length));
  ui.slider.addEventListener('input', () => go(ui.slider.value));
  document.addEventListener('keydown', (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const target = event.target;
    if (target === ui.slider) return; // the slider moves itself and reports through 'input'
    if (target && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName))) return;
    const moves = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 1, End: events.length };
    if (event.key in moves) {
      event.preventDefault();
      go(moves[event.key]);
    }
  });
}

async function verify() {
  ui.verdict.className = 'verify pending';
  ui.verdict.textContent = t('Verifying the chain…');
  ui.again.disabled = true;
  try {
    renderVerdict(ui.verdict, await verifyCase(caseId));
  } catch (error) {
    ui.verdict.className = 'verify bad';
    ui.verdict.textContent = t('The chain could not be verified: {message}', { message: error.message });
  } finally {
    ui.again.disabled = false;
  }
}

async function start() {
  bindControls();
  ui.again.addEventListener('click', () => verify());
  verify();
  let labels;
  let units;
  let trail;
  let forms;
  [caseInfo, events, labels, units, trail, forms] = await Promise.all([api(`cases/${caseId}`), loadEvents(),
    api(`cases/${caseId}/labels`), api('org/units').catch(() => []), caseTrail(caseId),
    api('definitions/forms').catch(() => [])]);
  formTitles = Object.fromEntries(forms.map((f) => [f.key, f.title || f.key]));
  names = { labels: labels.labels, options: labels.options || {},
    units: Object.fromEntries(units.map((unit) => [unit.path, unit.name])) };
  stepNames = elementNames(trail.map((entry) => entry.xml));
  await definitionsIndex();
  document.title = `${t('Replay')} ${caseInfo.case_no} · ${t('Cunliao')}`;
  ui.title.textContent = t('Replay of case {case_no}', { case_no: caseInfo.case_no });
  ui.sub.replaceChildren(
    caseInfo.title || '', caseInfo.title ? ' · ' : '',
    `${processNames[caseInfo.process_key] || caseInfo.process_key} v${caseInfo.definition_version} · ${statusName(caseInfo.status)} · `,
    h('a', { href: `/cases/${caseId}` }, t('Open the case')));
  renderSteps();
  if (!events.length) {
    notify(t('This case has no events.'), 'error');
    return;
  }
  const wanted = Number(new URLSearchParams(window.location.search).get('at')) || events.length;
  go(wanted);
}

attempt(start);
