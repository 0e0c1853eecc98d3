// 待办: the caller's tasks by view (mine, my groups, overdue, due soon, completed), with counts.
import { api, attempt, dueClass, h, params, t, when } from '../lib/page.js';
import '../tasks/tasks.css';
import { dueLabel } from '../tasks/common.js';

const VIEWS = [
  ['todo', t('All to do')],
  ['mine', t('Mine')],
  ['groups', t('My groups')],
  ['overdue', t('Overdue')],
  ['due_soon', t('Due soon')],
  ['completed', t('Completed by me')],
];
const LIMIT = 500;

let view = VIEWS.some(([key]) => key === params.view) ? params.view : 'todo';
const tabsNode = document.getElementById('inbox-tabs');
const listNode = document.getElementById('inbox-list');
const sortNode = document.getElementById('inbox-sort');
const counts = {};

function countText(n) {
  return n === undefined ? '…' : String(n);
}

function renderTabs() {
  tabsNode.replaceChildren(...VIEWS.map(([key, label]) => h('button', {
    type: 'button', role: 'tab', id: `tab-${key}`, 'aria-selected': key === view ? 'true' : 'false',
    'aria-controls': 'inbox-list', dataset: { view: key }, class: key === 'overdue' && counts.overdue ? 'has-overdue' : null,
    onclick: () => select(key),
  }, label, ' ', h('span', { class: 'count', 'aria-label': t('{n} tasks', { n: countText(counts[key]) }) },
    countText(counts[key])))));
}

function row(task) {
  const due = dueClass(task.due_at);
  const completed = view === 'completed';
  return h('tr', { dataset: { taskId: task.id } },
    h('td', { 'data-label': t('Task'), class: 'cell-task' },
      h('a', { href: `/tasks/${encodeURIComponent(task.id)}` }, task.name)),
    h('td', { 'data-label': t('Case'), class: 'cell-case' },
      h('span', { class: 'case-no' }, task.case_no), ' ', h('span', { class: 'case-title' }, task.case_title || '')),
    completed
      ? h('td', { 'data-label': t('Completed at') }, when(task.closed_at))
      : h('td', { 'data-label': t('Due'), class: `cell-due ${due}` },
        task.due_at ? when(task.due_at) : t('No time limit'),
        dueLabel(task.due_at) ? h('span', { class: `badge ${due}` }, dueLabel(task.due_at)) : null),
    completed ? null : h('td', { 'data-label': t('Claimed by') },
      task.assignee ? (task.owner ? t('{who} (delegated by {owner})', {
        who: task.assignee_name || task.assignee, owner: task.owner_name || task.owner }) : task.assignee_name || task.assignee)
        : h('span', { class: 'hint' }, t('Not claimed'))));
}

function renderList(tasks) {
  if (!tasks.length) {
    listNode.replaceChildren(h('p', { class: 'empty hint' }, t('Nothing here.')));
    return;
  }
  const completed = view === 'completed';
  listNode.replaceChildren(h('table', { class: 'responsive inbox-table' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('Task')), h('th', { scope: 'col' }, t('Case')),
      h('th', { scope: 'col' }, completed ? t('Completed at') : t('Due')), completed ? null : h('th', { scope: 'col' }, t('Claimed by')))),
    h('tbody', {}, tasks.map(row))));
}

async function loadCounts() {
  Object.assign(counts, await api('tasks/counts'));
  renderTabs();
}

async function load() {
  listNode.setAttribute('aria-busy', 'true');
  const tasks = await api('tasks', { query: { view, sort: sortNode.value, limit: LIMIT } });
  renderTabs();
  renderList(tasks);
  listNode.removeAttribute('aria-busy');
}

function select(key) {
  view = key;
  const url = new URL(window.location.href);
  url.searchParams.set('view', key);
  window.history.replaceState(null, '', url);
  renderTabs();
  attempt(load);
}

sortNode.addEventListener('change', () => attempt(load));
renderTabs();
attempt(load);
attempt(loadCounts);
// back from a task (the browser may show this page from its cache) or back to this tab: counts and
// list as they are now
window.addEventListener('pageshow', (event) => {
  if (event.persisted) { attempt(load); attempt(loadCounts); }
});
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') { attempt(load); attempt(loadCounts); }
});
