// The process modeler: edit a deployed version, validate it on the server (errors marked on their
// elements), deploy it as a new version, download its XML.
import '../designer/designer.css';
import { api, ApiError, attempt, h, notify, params, t, when } from '../lib/page.js';
import { loadCatalog } from '../designer/catalog.js';
import { createModeler, focusElement, markIssues } from '../designer/modeler.js';
import { explainIssue } from '../designer/issues.js';

const key = params.key;
const modeler = createModeler(document.getElementById('canvas'), '#properties');
window.modeler = modeler; // for tests and the curious
let fileName = `${key}.bpmn`;
let version = null;
let clearMarks = () => {};

const status = document.getElementById('status');
const buttons = ['validate', 'deploy', 'download'].map((id) => document.getElementById(id));

function say(text, kind = '') {
  status.textContent = text;
  status.dataset.kind = kind;
}

function showVersion(detail) {
  version = detail.version;
  document.getElementById('designer-title').textContent = `${detail.name || key}`;
  // the key is an identifier (code); "system" is the deploy command, not a person
  const who = detail.deployed_by === 'system' ? t('The system') : detail.deployed_by;
  document.getElementById('designer-meta').replaceChildren(h('code', {}, key), ' · ', t('version {version} · {who}, {when}', {
    version: detail.version, who, when: when(detail.deployed_at),
  }));
  const compare = document.getElementById('compare-link');
  compare.href = `/designer/${encodeURIComponent(key)}/compare?left=${Math.max(1, detail.version - 1)}&right=${detail.version}`;
}

/** The whole diagram, unless that makes it unreadable: then its beginning at a readable size. */
function readableZoom(canvas) {
  canvas.zoom('fit-viewport', 'auto');
  if (canvas.zoom() >= 0.5) return;
  const { inner, outer } = canvas.viewbox();
  // leave room for the palette on the left
  canvas.viewbox({ x: inner.x - 190, y: inner.y - 30, width: outer.width / 0.6, height: outer.height / 0.6 });
}

async function load() {
  let number = params.version ? Number(params.version) : null;
  if (!number) {
    const versions = await api(`definitions/${encodeURIComponent(key)}/versions`);
    if (!versions.length) throw new ApiError(404, { message: t('This process is not deployed.'), detail: 'not deployed' });
    number = versions[versions.length - 1].version;
  }
  const [detail] = await Promise.all([
    api(`definitions/${encodeURIComponent(key)}/versions/${number}`), loadCatalog(),
  ]);
  fileName = detail.file || fileName;
  await modeler.importXML(detail.xml);
  readableZoom(modeler.get('canvas'));
  showVersion(detail);
  buttons.forEach((button) => { button.disabled = false; });
  document.body.dataset.ready = 'true';
}

async function currentFiles() {
  const { xml } = await modeler.saveXML({ format: true });
  const form = new FormData();
  form.append('files', new Blob([xml], { type: 'application/xml' }), fileName);
  return form;
}

function showIssues(issues) {
  clearMarks();
  clearMarks = markIssues(modeler, issues);
  const registry = modeler.get('elementRegistry');
  const list = document.getElementById('issue-list');
  list.replaceChildren(...issues.map((issue) => {
    const element = issue.element_id && registry.get(issue.element_id);
    const label = element ? (element.businessObject.name || issue.element_id) : (issue.element_id || issue.file);
    const where = [issue.element_id && issue.element_id !== label ? issue.element_id : null,
      issue.line ? t('line {line}', { line: issue.line }) : null].filter(Boolean).join(' · ');
    const text = `${label}：${explainIssue(issue.message)}`;
    return h('li', { dataset: { elementId: issue.element_id || '' } },
      element ? h('button', { type: 'button', class: 'link', onclick: () => focusElement(modeler, issue.element_id) }, text)
        : h('span', { class: 'field-error' }, text),
      where ? h('span', { class: 'where' }, where) : null);
  }));
  document.getElementById('issues').hidden = issues.length === 0;
}

/** Run a server call on the current diagram; a 422 becomes the marked list of problems. */
async function withDiagram(action) {
  buttons.forEach((button) => { button.disabled = true; });
  try {
    return await action(await currentFiles());
  } catch (error) {
    if (error instanceof ApiError && error.status === 422 && Array.isArray(error.problem.errors)) {
      showIssues(error.problem.errors);
      say(t('{count} problems: see the marked elements', { count: error.problem.errors.length }), 'error');
      return undefined;
    }
    throw error;
  } finally {
    buttons.forEach((button) => { button.disabled = false; });
  }
}

document.getElementById('validate').addEventListener('click', () => attempt(() => withDiagram(async (form) => {
  const answer = await api('definitions/validate', { method: 'POST', form });
  showIssues([]);
  const mine = answer.processes.find((p) => p.key === key) || answer.processes[0];
  say(mine && !mine.changed ? t('Valid; unchanged from version {version}', { version: mine.latest_version })
    : t('Valid: ready to deploy'), 'ok');
})));

document.getElementById('deploy').addEventListener('click', () => attempt(() => withDiagram(async (form) => {
  const answer = await api('definitions', { method: 'POST', form });
  showIssues([]);
  const mine = answer.deployed.find((d) => d.key === key) || answer.deployed[0];
  if (!mine) return;
  say(mine.created ? t('Deployed as version {version}', { version: mine.version })
    : t('Unchanged: still version {version}', { version: mine.version }), 'ok');
  notify(status.textContent);
  if (mine.created) {
    const detail = await api(`definitions/${encodeURIComponent(key)}/versions/${mine.version}`);
    showVersion(detail);
    window.history.replaceState(null, '', `/designer/${encodeURIComponent(key)}?version=${mine.version}`);
  }
})));

document.getElementById('download').addEventListener('click', () => attempt(async () => {
  const { xml } = await modeler.saveXML({ format: true });
  const url = URL.createObjectURL(new Blob([xml], { type: 'application/xml' }));
  const link = h('a', { href: url, download: fileName });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}));

attempt(load);
