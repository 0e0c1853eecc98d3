// The verification answer (POST /api/v1/cases/{id}/verify) in plain words.
import { api, h, t } from '../lib/page.js';
import { shortHash } from './labels.js';

export function verifyCase(caseId) {
  return api(`cases/${caseId}/verify`, { method: 'POST' });
}

/** One line: "链校验通过：N 个事件，末哈希 …" or the first bad event and the reason. */
export function verdictText(result) {
  if (result.ok) return t('Chain verified: {events} events, head hash {head}', { events: result.events, head: shortHash(result.head) });
  return t('Chain verification FAILED at event {seq}: {reason}', { seq: result.first_bad_event ?? '?', reason: result.reason || '' });
}

/** The verdict with, on failure, what differs between the stored case and its replay. */
export function renderVerdict(container, result) {
  container.classList.remove('pending', 'ok', 'bad');
  container.classList.add(result.ok ? 'ok' : 'bad');
  container.dataset.ok = result.ok ? 'true' : 'false';
  const children = [h('strong', {}, result.ok ? '✔ ' : '✘ ', verdictText(result))];
  if (result.ok) {
    children.push(h('div', { class: 'hint hash', title: result.head }, t('Head hash'), '：', result.head));
    if (result.state_sealed) children.push(h('div', { class: 'hint sealed' }, t('State sealed ✓')));
  } else {
    const diff = Object.entries(result.diff || {});
    if (diff.length) {
      children.push(h('div', { class: 'diff' }, h('div', {}, t('What differs (stored vs. replayed):')),
        diff.map(([key, change]) => h('div', {}, h('code', {}, key), h('pre', {}, diffText(change || {}))))));
    }
  }
  container.replaceChildren(...children);
}

/** Stored against replayed; for the state seal (state_sha256), stored against sealed. */
function diffText(change) {
  const [label, other] = 'sealed' in change ? [t('sealed'), change.sealed] : [t('replayed'), change.replayed];
  return `${t('stored')}: ${JSON.stringify(change.stored)}\n${label}: ${JSON.stringify(other)}`;
}
