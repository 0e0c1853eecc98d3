// 待办: the caller's tasks by view (mine, my groups, overdue, due soon, completed), with counts, and
// 我的案件: the cases where the caller is the 包案领导, the 首办负责人, or a department whistled to.
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
  ['my_cases', t('My cases')],
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
    completed ? null : h('td', { 'data-label': t('First handler'), class: 'cell-first-handler' },
      task.first_handler_name || task.first_handler || h('span', { class: 'hint' }, t('Not signed for yet'))),
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
      h('th', { scope: 'col' }, completed ? t('Completed at') : t('Due')),
      completed ? null : h('th', { scope: 'col' }, t('First handler')),
      completed ? null : h('th', { scope: 'col' }, t('Claimed by')))),
    h('tbody', {}, tasks.map(row))));
}

function caseRow(item) {
  const open = item.tasks || [];
  return h('tr', { dataset: { caseId: String(item.id) } },
    h('td', { 'data-label': t('Case'), class: 'cell-case' },
      h('a', { href: `/cases/${item.id}` }, h('span', { class: 'case-no' }, item.case_no)), ' ',
      h('span', { class: 'case-title' }, item.title || '')),
    h('td', { 'data-label': t('First handler'), class: 'cell-first-handler' },
      item.first_handler_name || item.first_handler || h('span', { class: 'hint' }, t('Not signed for yet'))),
    h('td', { 'data-label': t('Open steps') }, open.length ? open.map((task) => task.name).join('、')
      : h('span', { class: 'hint' }, t('None'))));
}

function renderCases(items) {
  if (!items.length) {
    listNode.replaceChildren(h('p', { class: 'empty hint' },
      t('No cases of yours: you see a case here when you lead it (包案), signed for it first, or your department was whistled.')));
    return;
  }
  listNode.replaceChildren(h('table', { class: 'responsive inbox-table my-cases' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('Case')), h('th', { scope: 'col' }, t('First handler')),
      h('th', { scope: 'col' }, t('Open steps')))),
    h('tbody', {}, items.map(caseRow))));
}

async function loadCounts() {
  const [tasks, mine] = await Promise.all([api('tasks/counts'), api('cases', { query: { mine: true, page_size: 1 } })]);
  Object.assign(counts, tasks, { my_cases: mine.total });
  renderTabs();
}

async function load() {
  listNode.setAttribute('aria-busy', 'true');
  if (view === 'my_cases') {
    const answer = await api('cases', { query: { mine: true, page_size: 200 } });
    renderTabs();
    renderCases(answer.items);
  } else {
    const tasks = await api('tasks', { query: { view, sort: sortNode.value, limit: LIMIT } });
    renderTabs();
    renderList(tasks);
  }
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
