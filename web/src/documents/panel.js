// The documents of a case (文书), on the case page and on a task page: issue one from the case's data,
// download it, open its verification page, upload its signed scan. On a task page the step's own
// documents come first, with what the step requires before it can be completed.
import { api, ApiError, attempt, h, notify, t, when } from '../lib/page.js';
import { KINDS, fileProblem, uploadAttachment } from '../lib/files.js';
import './documents.css';

const SCAN_TYPES = [...KINDS.pdf, ...KINDS.image];

/** The latest version of each number, newest first. */
function latestVersions(documents) {
  const byNumber = new Map();
  for (const doc of documents) byNumber.set(doc.number, doc);
  return [...byNumber.values()].reverse();
}

function requirementText(need) {
  const what = need.signed_required ? t('{title} (with its signed scan)', { title: need.title }) : need.title;
  const done = need.issued && (!need.signed_required || need.signed);
  return h('li', { class: done ? 'doc-signed' : 'doc-unsigned' },
    `${done ? '✓' : '✗'} ${t('This step needs: {what}', { what })}`);
}

/**
 * Mount the panel in `container`. `caseId` always; `taskId` on a task page (the step's documents).
 * `canWrite`: whether the user may issue and upload. `onChange` runs after anything was issued.
 */
export function mountDocuments(container, { caseId, taskId = null, canWrite = true, onChange = null }) {
  const list = h('ul', { class: 'documents-list', id: 'documents-list' });
  const needs = h('ul', { class: 'documents-list', id: 'documents-needs' });
  const controls = h('div', { class: 'document-issue', id: 'document-issue' });
  const error = h('p', { class: 'field-error', id: 'documents-error', role: 'alert', hidden: true });
  container.replaceChildren(needs, list, controls, error);

  const showError = (message) => {
    error.textContent = message || '';
    error.hidden = !message;
  };

  async function issue(kind, documentId = null) {
    showError('');
    try {
      const doc = await api(`cases/${caseId}/documents`, { method: 'POST',
        body: { kind, task_id: taskId, document_id: documentId } });
      notify(t('{title} {number} issued.', { title: doc.title, number: doc.number }), 'ok');
    } catch (problem) {
      if (!(problem instanceof ApiError)) throw problem;
      showError(problem.message);
      return;
    }
    await load();
    if (onChange) await onChange();
  }

  async function uploadSigned(doc, input) {
    showError('');
    const file = input.files && input.files[0];
    if (!file) {
      showError(t('Choose the scan of the signed document first.'));
      return;
    }
    const problem = fileProblem(file, SCAN_TYPES);
    if (problem) {
      showError(problem);
      return;
    }
    try {
      const attachment = await uploadAttachment(caseId, file);
      await api(`documents/${doc.id}/signed`, { method: 'POST', body: { attachment_id: attachment.id } });
    } catch (problem) {
      if (!(problem instanceof ApiError)) throw problem;
      showError(problem.message);
      return;
    }
    notify(t('The signed scan of {number} is on file.', { number: doc.number }), 'ok');
    await load();
    if (onChange) await onChange();
  }

  function row(doc) {
    const scan = h('input', { type: 'file', accept: SCAN_TYPES.join(','), 'aria-label': t('Signed scan of {number}',
      { number: doc.number }) });
    const signedPart = doc.signed
      ? h('span', { class: 'doc-signed' }, t('Signed scan on file'))
      : canWrite ? h('span', { class: 'doc-upload' }, scan,
        h('button', { type: 'button', onclick: () => attempt(() => uploadSigned(doc, scan)) }, t('Upload signed scan')))
        : h('span', { class: 'doc-unsigned' }, t('Not signed yet'));
    return h('li', { 'data-number': doc.number },
      h('span', { class: 'doc-title' }, doc.title),
      h('span', { class: 'doc-number' }, doc.number),
      h('span', { class: 'doc-meta' }, t('version {version} · {pages} page(s) · {when}',
        { version: doc.version, pages: doc.pages, when: when(doc.issued_at) })),
      h('a', { href: `/api/v1/documents/${doc.id}/pdf`, download: '', class: 'button' },
        t('Download {title}', { title: doc.title })),
      h('a', { href: `/verify/${doc.code}`, target: '_blank', rel: 'noopener' }, t('Verify')),
      signedPart);
  }

  function issueButton(template, existing) {
    const label = existing ? t('Issue {title} again', { title: template.title }) : t('Issue {title}', { title: template.title });
    return h('button', { type: 'button', class: existing ? '' : 'primary',
      onclick: () => attempt(() => issue(template.key)) }, label);
  }

  async function load() {
    if (taskId) {
      const step = await api(`tasks/${encodeURIComponent(taskId)}/documents`);
      const documents = latestVersions(step.documents);
      needs.replaceChildren(...step.required.map(requirementText));
      list.replaceChildren(...documents.map(row));
      controls.replaceChildren(...(canWrite ? step.offered.map((template) =>
        issueButton(template, !template.repeatable && documents.some((d) => d.kind === template.key))) : []));
      container.closest('section').hidden = !step.offered.length && !step.required.length && !documents.length;
      return;
    }
    const [templates, all] = await Promise.all([api('document-templates'), api(`cases/${caseId}/documents`)]);
    const documents = latestVersions(all);
    list.replaceChildren(...(documents.length ? documents.map(row)
      : [h('li', { class: 'muted' }, t('No document issued yet.'))]));
    if (!canWrite || !templates.length) {
      controls.replaceChildren();
      return;
    }
    const select = h('select', { id: 'document-kind', 'aria-label': t('Document to issue') },
      ...templates.map((template) => h('option', { value: template.key }, template.title)));
    controls.replaceChildren(select, h('button', { type: 'button', class: 'primary', id: 'document-issue-button',
      onclick: () => attempt(() => issue(select.value)) }, t('Issue document')));
  }

  return attempt(load);
}
