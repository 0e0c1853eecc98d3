// A modal that asks why (unmasking personal data, cancelling, suspending, resuming); the reason is
// recorded by the API with the action.
import { t } from '../lib/page.js';

const dialog = document.getElementById('reason-dialog');

/** Resolves to the reason given, or null when the person backs out. */
export function askReason(title, hint, minLength = 2) {
  const form = document.getElementById('reason-form');
  const text = document.getElementById('reason-text');
  const error = document.getElementById('reason-error');
  document.getElementById('reason-title').textContent = title;
  document.getElementById('reason-hint').textContent = hint;
  text.value = '';
  text.removeAttribute('aria-invalid');
  error.hidden = true;
  return new Promise((resolve) => {
    const finish = (value) => {
      form.removeEventListener('submit', submit);
      cancel.removeEventListener('click', back);
      dialog.removeEventListener('cancel', back);
      if (dialog.open) dialog.close();
      resolve(value);
    };
    const submit = (event) => {
      event.preventDefault();
      const reason = text.value.trim();
      if (reason.length < minLength) {
        error.textContent = t('Please give a reason (at least {n} characters).', { n: minLength });
        error.hidden = false;
        text.setAttribute('aria-invalid', 'true');
        text.focus();
        return;
      }
      finish(reason);
    };
    const back = (event) => {
      if (event) event.preventDefault();
      finish(null);
    };
    const cancel = document.getElementById('reason-cancel');
    form.addEventListener('submit', submit);
    cancel.addEventListener('click', back);
    dialog.addEventListener('cancel', back);
    dialog.showModal();
    text.focus();
  });
}
