// The task actions of the task page: each asks for what it needs in a dialog (rendered with
// jsonform from a small schema, so the server's 422 errors land on their fields) and posts it.
import { api, ApiError, t } from '../lib/page.js';
import { renderForm } from '../lib/jsonform.js';

/** Action name → label, and the schema of what it asks for (none: posted at once). */
export function actionSpecs(detail) {
  const returnable = detail.returnable || [];
  // Who may take the task (its role over its area): a list to pick from, or a username to type.
  const people = detail.candidates || [];
  const person = (title) => (people.length
    ? { type: 'string', title, oneOf: people.map((p) => ({ const: p.username, title: `${p.display_name}（${p.username}）` })) }
    : { type: 'string', title, minLength: 1, maxLength: 100 });
  return {
    claim: { label: t('Claim') },
    unclaim: { label: t('Unclaim') },
    return: {
      label: t('Return'), danger: true, schema: {
        type: 'object', required: ['to_element', 'reason'], properties: {
          to_element: { type: 'string', title: t('Return to step'),
            oneOf: returnable.map((step) => ({ const: step.element_id, title: step.name })) },
          reason: { type: 'string', title: t('Reason'), minLength: 1, maxLength: 2000 },
        } },
    },
    delegate: {
      label: t('Delegate'), schema: { type: 'object', required: ['to'], properties: {
        to: { ...person(t('Delegate to')),
          description: t('Someone with the same role over this area; the task comes back to you to complete.') },
        note: { type: 'string', title: t('Note'), maxLength: 2000 },
      } },
    },
    resolve: { label: t('Hand back') },
    recall: { label: t('Take back') },
    reassign: {
      label: t('Reassign'), schema: { type: 'object', required: ['to', 'reason'], properties: {
        to: person(t('Reassign to')),
        reason: { type: 'string', title: t('Reason'), minLength: 1, maxLength: 2000 },
      } },
    },
    assign: {
      label: t('Assign (指派)'), schema: { type: 'object', required: ['to'], properties: {
        to: { type: 'string', title: t('Assign to (username)'), minLength: 1, maxLength: 100,
          description: t('A person in your area who holds the role this task needs.') },
        reason: { type: 'string', title: t('Reason'), maxLength: 2000 },
      } },
    },
    transfer: {
      label: t('Transfer (转派)'), schema: { type: 'object', required: ['unit', 'reason'], properties: {
        unit: { type: 'string', title: t('Transfer to unit (code)'), minLength: 1, maxLength: 400,
          description: t('The city or town centre above you, or a unit of your area (e.g. macheng).') },
        reason: { type: 'string', title: t('Reason'), minLength: 1, maxLength: 2000 },
      } },
    },
    urge: {
      label: t('Urge'), schema: { type: 'object', properties: {
        message: { type: 'string', title: t('Message'), maxLength: 500, default: '请尽快办理' },
      } },
    },
    copy: {
      label: t('Copy to'), schema: { type: 'object', required: ['to'], properties: {
        to: { type: 'array', title: t('Copy to (usernames)'), minItems: 1, maxItems: 50,
          items: { type: 'string', minLength: 1, maxLength: 100 } },
        note: { type: 'string', title: t('Note'), maxLength: 2000 },
      } },
    },
  };
}

/** Ask for the action's input in the page's <dialog>; resolves with the body, or null if cancelled.
 * `send(body)` posts it; a 422 keeps the dialog open with the errors on their fields. */
export function askAndSend(spec, send) {
  const dialog = document.getElementById('action-dialog');
  const form = document.getElementById('action-form');
  const title = document.getElementById('action-dialog-title');
  const error = document.getElementById('action-error');
  const cancel = document.getElementById('action-cancel');
  title.textContent = spec.label;
  error.hidden = true;
  const fields = renderForm(document.getElementById('action-fields'), spec.schema, {}, { showTitle: false });
  return new Promise((resolve, reject) => {
    function close(result, failure) {
      form.removeEventListener('submit', onSubmit);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('cancel', onCancel);
      if (dialog.open) dialog.close();
      if (failure) reject(failure);
      else resolve(result);
    }
    function onCancel(event) {
      if (event) event.preventDefault();
      close(null);
    }
    async function onSubmit(event) {
      event.preventDefault();
      error.hidden = true;
      if (!fields.validate()) return;
      try {
        close(await send(fields.getData()));
      } catch (problem) {
        if (problem instanceof ApiError && problem.status === 422 && Object.keys(problem.errors).length) {
          fields.showErrors(problem.errors);
        } else if (problem instanceof ApiError && problem.status === 422) {
          error.textContent = problem.message;
          error.hidden = false;
        } else {
          close(null, problem);
        }
      }
    }
    form.addEventListener('submit', onSubmit);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('cancel', onCancel);
    dialog.showModal();
    const first = dialog.querySelector('input, select, textarea');
    if (first) first.focus();
  });
}

export function post(taskId, action, body) {
  return api(`tasks/${encodeURIComponent(taskId)}/${action}`, { method: 'POST', body: body || {} });
}
