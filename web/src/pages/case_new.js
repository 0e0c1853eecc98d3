// 登记纠纷: a grid worker (or anyone who may start cases) registers a dispute. The process takes its
// first data in its first user task (dispute_intake: 登记纠纷, form intake_register): the page shows
// that form, starts the case with the data (POST /api/v1/cases) and completes that first task with
// it. A form error leaves the case started and the task open: the next submit completes that task.
import { api, ApiError, h, notify, params, t, user } from '../lib/page.js';
import { renderForm } from '../lib/jsonform.js';
import '../tasks/tasks.css';
import { goOnWith, isMine } from '../tasks/common.js';
import { uploadAttachment } from '../lib/files.js';

const start = params.start;
const fieldsNode = document.getElementById('register-fields');
const formNode = document.getElementById('register-form');
const submit = document.getElementById('register-submit');
const notice = document.getElementById('register-notice');
let pending = null; // {case, task}: the case is started, its first task still open

function showNotice(message, kind = 'error') {
  notice.textContent = message;
  notice.dataset.kind = kind;
  notice.hidden = !message;
}

if (!start || !start.form) {
  fieldsNode.replaceChildren(h('p', { class: 'problem' }, t('This process has no registration form.')));
  submit.disabled = true;
} else {
  const form = renderForm(fieldsNode, start.form, {});

  async function register() {
    let data = form.getData();
    if (!pending) {
      const created = await api('cases', { method: 'POST', body: {
        process_key: start.process_key, data, title: typeof data.title === 'string' ? data.title : '' } });
      // the same form may be another lane's step (dispute_intake: a case started in a village is
      // registered by the village mediator, register_village), so the form names the first task too
      const first = created.tasks.find((task) => task.element_id === start.element_id)
        || created.tasks.find((task) => task.form_key === start.form_key && isMine(task, user));
      if (!first) return created;
      pending = { case: created, task: first };
    }
    // photos and recordings chosen before the case existed go to its attachments now
    await form.uploadPending((file) => uploadAttachment(pending.case.id, file));
    data = form.getData();
    const done = await api(`tasks/${encodeURIComponent(pending.task.id)}/complete`, { method: 'POST', body: { data } });
    pending = null;
    return done;
  }

  formNode.addEventListener('submit', async (event) => {
    event.preventDefault();
    showNotice('');
    if (!form.validate()) {
      showNotice(t('Please correct the marked fields.'));
      return;
    }
    submit.disabled = true;
    try {
      const done = await register();
      notify(t('Registered as case {no}', { no: done.case_no }), 'ok');
      const next = (done.tasks || []).find((task) => isMine(task, user));
      if (next) await goOnWith(next);
      else window.location.assign(`/cases/${done.id}`);
    } catch (error) {
      submit.disabled = false;
      if (error instanceof ApiError) {
        if (error.status === 422 && Object.keys(error.errors).length) form.showErrors(error.errors);
        showNotice(error.message);
      } else {
        showNotice(t('Something went wrong: {message}', { message: error.message }));
        console.warn(error);
      }
    }
  });
}
