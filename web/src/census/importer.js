// Import: choose a file → dry run (every bad row listed) → import, only after a clean dry run of that
// same file. XMLHttpRequest for the upload progress (fetch has none): a determinate bar while the
// file goes up, then an indeterminate bar while the server checks or writes, then the counts.
// The API is all or nothing: a failed import writes nothing, and its message is shown as is.
import { ApiError, h, notify, t } from '../lib/page.js';
import { kindName } from './labels.js';

const $ = (id) => document.getElementById(id);
let checkedFile = null;  // the file whose dry run was clean
let busy = false;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)cunliao_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

function stage(name, text, fraction) {
  const box = $('import-progress');
  const bar = $('import-bar');
  box.hidden = false;
  box.dataset.stage = name;
  if (!(box.dataset.trail || '').endsWith(name)) box.dataset.trail = `${box.dataset.trail ? `${box.dataset.trail} ` : ''}${name}`;
  $('import-stage').textContent = text;
  if (fraction === undefined) bar.removeAttribute('value');  // indeterminate: the server is working
  else bar.value = Math.round(fraction * 100);
  bar.hidden = name === 'done' || name === 'failed';
}

/** POST the file; `dryRun` checks only. Resolves with the counts, rejects with an ApiError. */
function send(file, dryRun) {
  return new Promise((resolve, reject) => {
    const working = dryRun ? t('Checking every row…') : t('Importing…');
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api/v1/census/import?dry_run=${dryRun ? 'true' : 'false'}`);
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) {
        stage('upload', t('Uploading… {percent}%', { percent: Math.round((100 * event.loaded) / event.total) }), event.loaded / event.total);
      }
    };
    xhr.upload.onload = () => stage('server', working);
    xhr.onload = () => {
      let answer = {};
      try { answer = JSON.parse(xhr.responseText || '{}'); } catch (ignored) { answer = { detail: xhr.statusText }; }
      if (xhr.status === 401) {
        window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(answer);
      else reject(new ApiError(xhr.status, answer));
    };
    xhr.onerror = () => reject(new ApiError(0, { message: t('The connection failed; nothing was imported.'), detail: 'network error' }));
    const form = new FormData();
    form.append('files', file, file.name);
    stage('upload', t('Uploading… {percent}%', { percent: 0 }), 0);
    xhr.send(form);
  });
}

function countsTable(result) {
  const row = (label, counts) => h('tr', {}, h('th', { scope: 'row' }, label),
    h('td', { 'data-label': t('New') }, String(counts.created || 0)),
    h('td', { 'data-label': t('Updated') }, String(counts.updated || 0)),
    h('td', { 'data-label': t('Unchanged') }, String(counts.unchanged || 0)));
  const rows = [row(t('People'), result.people || {})];
  for (const [kind, counts] of Object.entries(result.items || {})) {
    if ((counts.created || 0) + (counts.updated || 0) + (counts.unchanged || 0) > 0) rows.push(row(kindName(kind), counts));
  }
  return h('table', { class: 'responsive census-table counts', id: 'import-counts' },
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('Kind')), h('th', { scope: 'col' }, t('New')),
      h('th', { scope: 'col' }, t('Updated')), h('th', { scope: 'col' }, t('Unchanged')))),
    h('tbody', {}, ...rows));
}

function errorsTable(errors) {
  return h('table', { class: 'responsive census-table bad-rows', id: 'import-errors' },
    h('thead', {}, h('tr', {}, ...[t('File'), t('Sheet'), t('Row'), t('Column'), t('Reason')]
      .map((label) => h('th', { scope: 'col' }, label)))),
    h('tbody', {}, ...errors.map((e) => h('tr', {},
      h('td', { 'data-label': t('File') }, e.file || ''),
      h('td', { 'data-label': t('Sheet') }, e.sheet || '—'),
      h('td', { 'data-label': t('Row'), class: 'row-no' }, e.row === undefined || e.row === null ? '—' : String(e.row)),
      h('td', { 'data-label': t('Column') }, e.column || '—'),
      h('td', { 'data-label': t('Reason'), class: 'reason' }, e.message || e.detail || '')))));
}

function showSuccess(result, dryRun, file) {
  const summary = dryRun
    ? t('Dry run passed: {rows} rows checked, no errors. Nothing has been written yet; press Import.', { rows: result.rows })
    : t('Imported {rows} rows from {file}.', { rows: result.rows, file: file.name });
  stage('done', dryRun ? t('Check finished') : t('Import finished'), 1);
  $('import-result').replaceChildren(
    h('p', { class: dryRun ? 'import-ok' : 'import-ok done', id: 'import-summary' }, summary),
    countsTable(result),
    result.households_created ? h('p', { class: 'hint' }, t('Households created: {count}', { count: result.households_created })) : '');
}

function showFailure(failure, dryRun) {
  stage('failed', dryRun ? t('Check finished with errors') : t('Import failed'), 1);
  const errors = Array.isArray(failure.problem && failure.problem.errors) ? failure.problem.errors : [];
  $('import-result').replaceChildren(
    h('p', { class: 'problem', role: 'alert', id: 'import-summary' },
      errors.length && !failure.message ? t('{count} problems found. Nothing was imported: fix them in the file and check again.', { count: errors.length }) : failure.message),
    errors.length ? h('p', { class: 'hint' }, t('Fix the rows below in the file, then run the dry run again.')) : '',
    errors.length ? errorsTable(errors) : '');
}

async function run(dryRun) {
  const file = $('import-file').files[0];
  if (!file) { notify(t('Choose a .xlsx or .csv file first.'), 'error'); return; }
  if (busy) return;
  busy = true;
  $('import-progress').dataset.trail = '';
  $('import-check').disabled = true;
  $('import-run').disabled = true;
  $('import-result').replaceChildren();
  try {
    const result = await send(file, dryRun);
    showSuccess(result, dryRun, file);
    checkedFile = dryRun ? file : null;
    if (!dryRun) {
      notify(t('Import finished.'));
      document.dispatchEvent(new CustomEvent('census:imported'));
    }
  } catch (failure) {
    checkedFile = null;
    if (!(failure instanceof ApiError)) throw failure;
    showFailure(failure, dryRun);
  } finally {
    busy = false;
    $('import-check').disabled = false;
    $('import-run').disabled = !(checkedFile && checkedFile === $('import-file').files[0]);
  }
}

export function setupImport() {
  $('import-file').addEventListener('change', () => {
    checkedFile = null;
    $('import-run').disabled = true;
    $('import-result').replaceChildren();
    $('import-progress').hidden = true;
  });
  $('import-check').addEventListener('click', () => run(true));
  $('import-run').addEventListener('click', () => run(false));
}
