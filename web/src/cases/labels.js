// Names of the case fields' values, shared by the case list and the case page.
import { h, t } from '../lib/page.js';

export const STATUS = {
  active: t('In progress'),
  waiting: t('Waiting'),
  incident: t('Needs attention'),
  suspended: t('Suspended'),
  completed: t('Closed'),
  cancelled: t('Cancelled'),
};

export const RISK = { red: t('Red'), orange: t('Orange'), yellow: t('Yellow'), green: t('Green') };

export const CHANNEL = {
  grid_patrol: t('Grid patrol'),
  walk_in: t('Walk-in'),
  one_key_call: t('One-key call'),
  transfer_in: t('Transfer or assignment'),
  lead: t('From a lead'),
  hotline_12345: t('12345 hotline'),
  police_110: t('110 police call'),
  court_divorce: t('Divorce filing'),
  petition: t('Petition'),
  grid_report: t('Grid report'),
};

// The dispute types, once each, as the classification form (intake_classify) and the quick
// mediation's register form (quick_register, a subset plus 债务) store them.
export const CATEGORIES = ['婚姻家庭', '邻里', '房屋宅基地', '债务', '合同', '生产经营', '损害赔偿', '山林土地',
  '征地拆迁', '环境污染', '劳动争议', '消费', '医疗', '道路交通事故', '物业', '其他'];

export const SUPERVISORS = ['admin', 'city_director', 'town_director'];
// Roles whose work needs the parties' real numbers (api/core/pii.py UNMASK_ROLES).
export const UNMASK_ROLES = ['grid_worker', 'village_mediator', 'village_secretary', 'town_officer', 'town_director',
  'justice_officer', 'police_liaison', 'city_officer', 'city_director', 'leader'];
export const READ_ONLY = ['auditor', 'designer'];

export function statusBadge(status) {
  return h('span', { class: `badge status status-${status}` }, STATUS[status] || status);
}

export function riskBadge(level) {
  if (!level) return h('span', { class: 'muted' }, '—');
  return h('span', { class: `badge risk risk-${level}` }, RISK[level] || level);
}

export function channelName(code) {
  return code ? (CHANNEL[code] || code) : '—';
}

/** "宋埠镇 / 杨家湾村 / 杨家湾村第一网格" from the API's area list. */
export function areaText(area, jurisdiction) {
  return area && area.length ? area.map((unit) => unit.name).join(' / ') : (jurisdiction || '—');
}

export function hasRole(user, roles) {
  return Boolean(user && user.roles.some((role) => roles.includes(role)));
}
