// Edit a deployed form's JSON Schema with a live preview; validate it on the server and deploy it
// (which makes new versions of the processes that use it).
import '../designer/designer.css';
import { api, ApiError, attempt, h, params, t } from '../lib/page.js';
import { renderForm } from '../lib/jsonform.js';

const formKey = params.form_key;
const text = document.getElementById('schema-text');
const error = document.getElementById('schema-error');
const preview = document.getElementById('preview');
const status = document.getElementById('status');
const buttons = ['validate', 'deploy'].map((id) => document.getElementById(id));
let fileName = `${formKey}.schema.json`;

function say(message, kind = '') {
  status.textContent = message;
  status.dataset.kind = kind;
}

/** The schema in the text box, or null (and the problem shown) when it is not a usable schema. */
function parsed() {
  let schema;
  try {
    schema = JSON.parse(text.value);
  } catch (problem) {
    return fail(t('Not valid JSON: {message}', { message: problem.message }));
  }
  if (!schema || typeof schema !== 'object' || Array.isArray(schema) || schema.type !== 'object') {
    return fail(t('A form schema must be an object schema ("type": "object").'));
  }
  error.hidden = true;
  text.removeAttribute('aria-invalid');
  return schema;
}

function fail(message) {
  error.textContent = message;
  error.hidden = false;
  text.setAttribute('aria-invalid', 'true');
  return null;
}

function refreshPreview() {
  const schema = parsed();
  if (!schema) return;
  const example = Array.isArray(schema.examples) && schema.examples[0] && typeof schema.examples[0] === 'object'
    ? schema.examples[0] : {};
  try {
    preview.replaceChildren();
    renderForm(preview, schema, example);
  } catch (problem) {
    fail(t('The preview cannot show this schema: {message}', { message: problem.message }));
  }
}

function showIssues(issues) {
  document.getElementById('issue-list').replaceChildren(...issues.map((issue) => h('li', {},
    h('span', { class: 'field-error' }, `${issue.file}${issue.element_id ? ` · ${issue.element_id}` : ''}：${issue.message}`))));
  document.getElementById('issues').hidden = issues.length === 0;
}

async function send(path) {
  const schema = parsed();
  if (!schema) {
    say(t('Fix the JSON first'), 'error');
    return undefined;
  }
  const form = new FormData();
  form.append('files', new Blob([`${JSON.stringify(schema, null, 2)}\n`], { type: 'application/json' }), fileName);
  buttons.forEach((button) => { button.disabled = true; });
  try {
    const answer = await api(path, { method: 'POST', form });
    showIssues([]);
    return answer;
  } catch (problem) {
    if (problem instanceof ApiError && problem.status === 422 && Array.isArray(problem.problem.errors)) {
      showIssues(problem.problem.errors);
      say(t('{count} problems', { count: problem.problem.errors.length }), 'error');
      return undefined;
    }
    throw problem;
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
}

const describe = (items) => items.map((p) => t('{key} version {version}', { key: p.key, version: p.version })).join('、');

document.getElementById('validate').addEventListener('click', () => attempt(async () => {
  const answer = await send('definitions/validate');
  if (!answer) return;
  const changed = answer.processes.filter((p) => p.changed);
  say(changed.length ? t('Valid; deploying makes new versions of: {keys}', { keys: changed.map((p) => p.key).join('、') })
    : t('Valid; unchanged'), 'ok');
}));

document.getElementById('deploy').addEventListener('click', () => attempt(async () => {
  const answer = await send('definitions');
  if (!answer) return;
  const created = answer.deployed.filter((d) => d.created);
  say(created.length ? t('Deployed: {versions}', { versions: describe(created) }) : t('Unchanged: nothing deployed'), 'ok');
}));

let timer = null;
text.addEventListener('input', () => {
  clearTimeout(timer);
  timer = setTimeout(refreshPreview, 250);
});

async function load() {
  const form = await api(`definitions/forms/${encodeURIComponent(formKey)}`);
  fileName = form.file || fileName;
  document.getElementById('form-title').textContent = `${t('Form editor')} · ${form.title || formKey}`;
  document.getElementById('form-meta').textContent = t('{key} · used by {processes}', {
    key: formKey, processes: form.used_by.join('、') });
  text.value = `${JSON.stringify(form.schema, null, 2)}\n`;
  refreshPreview();
  buttons.forEach((button) => { button.disabled = false; });
  document.body.dataset.ready = 'true';
}

attempt(load);
