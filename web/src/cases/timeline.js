// The case's event log told in words: who did what, when (GET /api/v1/cases/{id}/events).
import { h, t, when } from '../lib/page.js';

/** element id -> name, from BPMN XML (the diagrams of the case's processes). */
export function elementNames(xmlList) {
  const names = new Map();
  const parser = new DOMParser();
  for (const xml of xmlList) {
    if (!xml) continue;
    const doc = parser.parseFromString(xml, 'application/xml');
    for (const node of doc.getElementsByTagName('*')) {
      const id = node.getAttribute('id');
      const name = node.getAttribute('name');
      if (id && name && !names.has(id)) names.set(id, name.replace(/\s+/g, ' ').trim());
    }
  }
  return names;
}

function who(actor, name) {
  if (!actor || actor === 'timer') return t('The system');
  return name || actor;
}

function stepOf(payload, names) {
  const id = (payload.task && payload.task.element_id) || payload.element_id || payload.to_element;
  return id ? (names.get(id) || id) : '';
}

/** [what happened, detail or ''] for one event. */
export function describe(event, names) {
  const p = event.payload || {};
  const step = stepOf(p, names);
  const reason = p.reason ? t('Reason: {reason}', { reason: p.reason }) : '';
  switch (event.type) {
    case 'case_started': return [t('registered the case'), ''];
    case 'task_completed': return [t('completed “{step}”', { step }), ''];
    case 'task_claimed': return [t('took on “{step}”', { step }), ''];
    case 'task_unclaimed': return [t('put “{step}” back in the pool', { step }), ''];
    case 'task_delegated': return [t('delegated “{step}” to {to}', { step, to: p.to }), p.note || ''];
    case 'task_delegation_resolved': return [t('handed “{step}” back', { step }), ''];
    case 'task_recalled': return [t('took “{step}” back', { step }), ''];
    case 'task_reassigned': return [t('reassigned “{step}” to {to}', { step, to: p.to }), reason];
    case 'task_returned': return [t('returned the case to “{step}”', { step: names.get(p.to_element) || p.to_element }), reason];
    case 'task_urged': return [t('urged “{step}”', { step }), p.message || ''];
    case 'task_copied': return [t('copied “{step}” to {to}', { step, to: (p.to || []).join('、') }), p.note || ''];
    case 'task_skipped': return [t('skipped “{step}”', { step }), reason];
    case 'comment_added': return [t('added a comment'), p.text || ''];
    case 'attachment_added': return [t('uploaded {file}', { file: p.filename || '' }), ''];
    case 'document_issued': return [t('issued {title} {number}', { title: (p.document || {}).title || '',
      number: (p.document || {}).number || '' }), t('version {version}', { version: (p.document || {}).version || 1 })];
    case 'document_signed': return [t('put the signed scan of {number} on file', { number: p.number || '' }), ''];
    case 'personal_data_viewed': return [t('viewed the parties’ full details'), reason];
    case 'mediator_appointed': return [t('appointed {member} ({organisation}) to the mediation', {
      member: p.member || '', organisation: p.organisation || '' }), p.role || ''];
    case 'case_suspended': return [t('suspended the case'), reason];
    case 'case_resumed': return [t('resumed the case'), reason];
    case 'case_cancelled': return [t('cancelled the case'), reason];
    case 'timer_fired': return [t('a deadline timer moved the case on'), ''];
    case 'message_sent': return [t('sent the message “{name}”', { name: p.name || '' }), ''];
    case 'message_delivered': return [t('received the message “{name}”', { name: p.name || '' }), ''];
    case 'data_corrected': return [t('corrected the case data'), reason];
    case 'case_retried': return [t('retried the failed step'), reason];
    case 'case_rewound': return [t('rewound the case'), reason];
    case 'case_migrated': return [t('moved the case to version {version}', { version: p.to_version }), reason];
    default: return [event.type, reason];
  }
}

export function timelineItem(event, names) {
  const [what, detail] = describe(event, names);
  return h('li', { dataset: { seq: event.seq, type: event.type } },
    h('time', { class: 'at', datetime: event.at }, when(event.at)),
    h('span', { class: 'what' }, h('strong', {}, who(event.actor, event.actor_name)), ' ', what),
    detail ? h('span', { class: 'detail' }, detail) : null);
}
