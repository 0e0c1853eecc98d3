// What the inbox, task and register pages share.
import { api, dueClass, t } from '../lib/page.js';

/** A word beside the due time, so the colour is not the only sign. */
export function dueLabel(iso) {
  const kind = dueClass(iso);
  if (kind === 'due-over') return t('Overdue');
  if (kind === 'due-soon') return t('Due within a day');
  return '';
}

const PII = new Set(['id_no', 'id_number', 'idcard', 'phone', 'mobile', 'contact_phone', 'caller_phone']);

/** Case data as a form's starting values: only the form's own fields, and never a masked number
 * (sending 138****1234 back would overwrite the real one). */
export function prefill(schema, data) {
  const out = {};
  for (const key of Object.keys((schema && schema.properties) || {})) {
    if (data && data[key] !== undefined && data[key] !== null) out[key] = unmasked(data[key]);
  }
  return out;
}

function unmasked(value) {
  if (Array.isArray(value)) return value.map(unmasked);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value)
      .filter(([key, v]) => !(PII.has(key) && typeof v === 'string' && v.includes('*')))
      .map(([key, v]) => [key, unmasked(v)]));
  }
  return value;
}

/** Whether a task is for one of the user's roles (the server decides; this only picks where to go). */
export function isMine(task, user) {
  const unit = task && (task.jurisdiction || '');
  const at = user && (user.unit_path || '/');
  // offered at the task's unit, above it or within it (a village's grid task reaches its grids)
  return Boolean(task && user && task.state === 'ready' && (user.roles || []).includes(task.role)
    && (unit.startsWith(at) || (unit && at.startsWith(unit)))
    && (!task.assignee || task.assignee === user.username));
}

/** Open the next step the user's own action has just made theirs, claimed for them (认领) on the way:
 * it is theirs to carry on with, so it shows under 我的 and a colleague does not pick it up meanwhile.
 * A claim that fails (someone was quicker) still opens the task, which then says who holds it. */
export async function goOnWith(task) {
  if (!task.assignee) {
    try {
      await api(`tasks/${encodeURIComponent(task.id)}/claim`, { method: 'POST', body: {} });
    } catch (ignored) { /* the task page shows the task as it is */ }
  }
  window.location.assign(`/tasks/${encodeURIComponent(task.id)}`);
}
