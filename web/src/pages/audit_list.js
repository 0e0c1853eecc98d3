// The auditor's case list: find a case by its number or browse recent ones, check every listed
// case's hash chain and replay, open the replay player.
import { api, ApiError, attempt, h, t, when } from '../lib/page.js';
import { statusName } from '../audit/labels.js';
import { verifyCase, verdictText } from '../audit/verify.js';
import '../audit/audit.css';

const $ = (id) => document.getElementById(id);
const form = $('find-form');
const rows = $('case-rows');
const PAGE_SIZE = 20;
let state = { page: 1, case_no: '', status: '' };
let listed = [];
let processNames = {};

async function loadNames() {
  try {
    for (const d of await api('definitions')) processNames[d.key] = d.name || d.key;
  } catch (error) {
    processNames = {};
  }
}

function chainCell(item) {
  return h('td', { 'data-label': t('Chain'), class: 'chain chain-wait', id: `chain-${item.id}` }, t('Not checked'));
}

function renderRows(items) {
  rows.replaceChildren(...items.map((item) => h('tr', { dataset: { caseId: item.id, caseNo: item.case_no } },
    h('td', { 'data-label': t('Case number') }, h('a', { href: `/audit/cases/${item.id}` }, item.case_no)),
    h('td', { 'data-label': t('Title') }, item.title || '—'),
    h('td', { 'data-label': t('Process') }, processNames[item.process_key] || item.process_key, ` v${item.definition_version}`),
    h('td', { 'data-label': t('Status') }, statusName(item.status)),
    h('td', { 'data-label': t('Started') }, when(item.created_at)),
    chainCell(item),
    h('td', {}, h('a', { href: `/audit/cases/${item.id}`, 'aria-label': t('Replay {case_no}', { case_no: item.case_no }) }, t('Replay'))))));
  $('no-cases').hidden = items.length > 0;
}

let loads = 0;

async function load() {
  const mine = ++loads;
  const error = $('find-error');
  error.hidden = true;
  $('verify-summary').hidden = true;
  const answer = await api('cases', { query: { page: state.page, page_size: PAGE_SIZE, case_no: state.case_no, status: state.status } });
  if (mine !== loads) return; // a later search or page was asked for meanwhile: the older answer must not replace it
  listed = answer.items;
  renderRows(listed);
  $('list-title').textContent = state.case_no ? t('Cases numbered {case_no}', { case_no: state.case_no }) : t('Recent cases');
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
  $('page-label').textContent = t('Page {page} of {pages} ({total} cases)', { page: state.page, pages, total: answer.total });
  $('page-prev').disabled = state.page <= 1;
  $('page-next').disabled = state.page >= pages;
  $('verify-all').disabled = !listed.length;
}

async function verifyAll() {
  const button = $('verify-all');
  const summary = $('verify-summary');
  button.disabled = true;
  let ok = 0;
  let bad = 0;
  for (const item of listed) {
    const cell = $(`chain-${item.id}`);
    cell.className = 'chain chain-wait';
    cell.textContent = t('Checking…');
    try {
      const result = await verifyCase(item.id);
      cell.className = `chain ${result.ok ? 'chain-ok' : 'chain-bad'}`;
      cell.textContent = result.ok ? t('Verified ({events} events)', { events: result.events }) : verdictText(result);
      cell.title = result.head || '';
      if (result.ok) ok += 1; else bad += 1;
    } catch (error) {
      cell.className = 'chain chain-bad';
      cell.textContent = error instanceof ApiError ? error.message : String(error);
      bad += 1;
    }
    summary.hidden = false;
    summary.className = `verify-summary ${bad ? 'chain-bad' : 'chain-ok'}`;
    summary.textContent = t('{ok} verified, {bad} failed, {left} left', { ok, bad, left: listed.length - ok - bad });
  }
  summary.textContent = bad ? t('{bad} of {total} cases failed verification', { bad, total: listed.length })
    : t('All {total} listed cases verified', { total: listed.length });
  button.disabled = false;
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  state = { page: 1, case_no: $('case-no').value.trim().toUpperCase(), status: $('status').value };
  attempt(load);
});
$('clear-find').addEventListener('click', () => {
  $('case-no').value = '';
  $('status').value = '';
  state = { page: 1, case_no: '', status: '' };
  attempt(load);
});
$('page-prev').addEventListener('click', () => { state.page -= 1; attempt(load); });
$('page-next').addEventListener('click', () => { state.page += 1; attempt(load); });
$('verify-all').addEventListener('click', () => attempt(verifyAll));

attempt(async () => {
  await loadNames();
  const wanted = new URLSearchParams(window.location.search).get('case_no');
  if (wanted) {
    $('case-no').value = wanted;
    state.case_no = wanted.trim().toUpperCase();
  }
  await load();
});
