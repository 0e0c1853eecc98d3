// The form editor: a deployed form's JSON Schema edited field by field (the visual tab) or as text
// (the advanced tab), one schema behind both; the preview is the task page's own renderer. Validate
// it on the server and deploy it (which makes new versions of the processes that use it).
import '../designer/designer.css';
import '../formeditor/formeditor.css';
import { api, ApiError, attempt, h, params, t } from '../lib/page.js';
import { renderForm } from '../lib/jsonform.js';
import { explainIssue } from '../designer/issues.js';
import { fieldList } from '../formeditor/fields.js';
import { rulesEditor } from '../formeditor/rules.js';

const formKey = params.form_key;
const $ = (id) => document.getElementById(id);
const text = $('schema-text');
const error = $('schema-error');
const preview = $('preview');
const status = $('status');
const buttons = ['validate', 'deploy'].map((id) => $(id));
let fileName = `${formKey}.schema.json`;
let schema = { type: 'object', properties: {} };
let jsonBroken = false; // the text box holds JSON that does not parse: deploy nothing until fixed
let fields = null;
let rules = null;

function say(message, kind = '') {
  status.textContent = message;
  status.dataset.kind = kind;
}

/** A parse error where people look for it: line and column (browsers say "position N" in English). */
function jsonProblem(problem, source) {
  const at = /position (\d+)/.exec(problem.message);
  if (!at) return t('Not valid JSON: check the brackets, commas and quotes.');
  const before = source.slice(0, Number(at[1])).split('\n');
  return t('Not valid JSON: near line {line}, column {column}.', { line: before.length, column: before[before.length - 1].length + 1 });
}

/** The schema in the text box, or null (and the problem shown) when it is not a usable schema. */
function parsedText() {
  let parsed;
  try {
    parsed = JSON.parse(text.value);
  } catch (problem) {
    return fail(jsonProblem(problem, text.value));
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed) || parsed.type !== 'object') {
    return fail(t('A form schema must be an object schema ("type": "object").'));
  }
  error.hidden = true;
  text.removeAttribute('aria-invalid');
  return parsed;
}

function fail(message) {
  error.textContent = message;
  error.hidden = false;
  text.setAttribute('aria-invalid', 'true');
  return null;
}

function refreshPreview() {
  const example = Array.isArray(schema.examples) && schema.examples[0] && typeof schema.examples[0] === 'object'
    ? schema.examples[0] : {};
  try {
    renderForm(preview, schema, example);
  } catch (problem) {
    preview.replaceChildren(h('p', { class: 'field-error' }, t('The preview cannot show this schema: {message}', { message: problem.message })));
  }
}

const serialized = () => `${JSON.stringify(schema, null, 2)}\n`;

/** After an edit in the visual tab: the text and the preview follow. */
function visualChanged() {
  text.value = serialized();
  jsonBroken = false;
  error.hidden = true;
  refreshPreview();
}

function showHead() {
  $('form-name').value = schema.title || '';
  $('form-help').value = schema.description || '';
}

function showAll() {
  showHead();
  fields.redraw();
  rules.redraw();
  refreshPreview();
}

function showIssues(issues) {
  $('issue-list').replaceChildren(...issues.map((issue) => h('li', {},
    h('span', { class: 'field-error' }, `${issue.file}${issue.element_id ? ` · ${issue.element_id}` : ''}：${explainIssue(issue.message)}`))));
  $('issues').hidden = issues.length === 0;
}

async function send(path) {
  if (jsonBroken) {
    say(t('Fix the JSON first'), 'error');
    return undefined;
  }
  const form = new FormData();
  form.append('files', new Blob([serialized()], { type: 'application/json' }), fileName);
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

function bind() {
  $('validate').addEventListener('click', () => attempt(async () => {
    const answer = await send('definitions/validate');
    if (!answer) return;
    const changed = answer.processes.filter((p) => p.changed);
    say(changed.length ? t('Valid; deploying makes new versions of: {keys}', { keys: changed.map((p) => p.key).join('、') })
      : t('Valid; unchanged'), 'ok');
  }));
  $('deploy').addEventListener('click', () => attempt(async () => {
    const answer = await send('definitions');
    if (!answer) return;
    const created = answer.deployed.filter((d) => d.created);
    say(created.length ? t('Deployed: {versions}', { versions: describe(created) }) : t('Unchanged: nothing deployed'), 'ok');
  }));
  for (const [id, key] of [['form-name', 'title'], ['form-help', 'description']]) {
    $(id).addEventListener('input', () => {
      const value = $(id).value.trim();
      if (value) schema[key] = value; else delete schema[key];
      visualChanged();
    });
  }
  let timer = null;
  text.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const parsed = parsedText();
      jsonBroken = !parsed;
      if (!parsed) return;
      schema = parsed;
      showAll();
    }, 250);
  });
  for (const [tab, panel] of [['tab-visual', 'visual'], ['tab-json', 'advanced']]) {
    $(tab).addEventListener('click', () => {
      for (const [otherTab, otherPanel] of [['tab-visual', 'visual'], ['tab-json', 'advanced']]) {
        $(otherTab).setAttribute('aria-selected', String(otherTab === tab));
        $(otherPanel).hidden = otherPanel !== panel;
      }
    });
  }
}

async function load() {
  const form = await api(`definitions/forms/${encodeURIComponent(formKey)}`);
  fileName = form.file || fileName;
  // the file as deployed keeps the author's field order (JSON answers sort keys)
  schema = form.source ? JSON.parse(form.source) : form.schema;
  $('form-title').textContent = `${t('Form editor')} · ${form.title || formKey}`;
  // keys are identifiers: shown as code
  $('form-meta').replaceChildren(h('code', {}, formKey), ' · ', t('Used by'), '：',
    ...form.used_by.flatMap((key, i) => [i ? '、' : '', h('code', {}, key)]));
  fields = fieldList($('fields'), () => schema, () => { rules.redraw(); visualChanged(); });
  rules = rulesEditor($('rules'), () => schema, visualChanged);
  text.value = serialized();
  showAll();
  bind();
  buttons.forEach((button) => { button.disabled = false; });
  document.body.dataset.ready = 'true';
}

attempt(load);
