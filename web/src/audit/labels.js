// Names an auditor reads: event types and case statuses in the UI's language, hashes shortened.
import { t } from '../lib/page.js';

const EVENT_TYPES = {
  case_started: t('Case started'),
  task_completed: t('Task completed'),
  task_skipped: t('Task skipped'),
  message_delivered: t('Message received'),
  message_sent: t('Message sent'),
  timer_fired: t('Timer fired'),
  data_corrected: t('Data corrected'),
  case_rewound: t('Case rewound'),
  task_returned: t('Task returned'),
  case_migrated: t('Case migrated to another version'),
  case_retried: t('Failed step retried'),
  case_suspended: t('Case suspended'),
  case_resumed: t('Case resumed'),
  case_cancelled: t('Case cancelled'),
  task_claimed: t('Task claimed'),
  task_unclaimed: t('Task put back in the pool'),
  task_reassigned: t('Task reassigned'),
  task_delegated: t('Task delegated'),
  task_delegation_resolved: t('Delegated task handed back'),
  task_recalled: t('Delegated task taken back'),
  task_urged: t('Task urged'),
  task_copied: t('Task copied to someone'),
  comment_added: t('Comment added'),
  attachment_added: t('Attachment added'),
  personal_data_viewed: t('Personal data viewed'),
  mediator_appointed: t('Community member appointed'),
};

const STATUSES = {
  active: t('In progress'),
  waiting: t('Waiting'),
  incident: t('Incident'),
  suspended: t('Suspended'),
  completed: t('Completed'),
  cancelled: t('Cancelled'),
};

/** The event type in the UI's language (the code itself when unknown). */
export function eventType(type) {
  return EVENT_TYPES[type] || type;
}

export function statusName(status) {
  return STATUSES[status] || status || '';
}

/** The first and last characters of a hash, for tables; the full hash goes in the title. */
export function shortHash(hash) {
  return hash ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : '';
}
