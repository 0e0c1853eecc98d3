// Names of the census kinds, flags and item columns (docs/census.md), and small shared helpers.
import { h, t, user } from '../lib/page.js';

export const FLAGS = ['常住', '流动', '困难群体', '特殊人群', '重点人员'];
export const READ_ONLY = ['auditor', 'designer'];
export const roles = (user && user.roles) || [];
export const canWrite = roles.some((r) => !READ_ONLY.includes(r));
export const canRound = roles.some((r) => ['grid_worker', 'town_officer', 'town_director'].includes(r));
export const canVisit = roles.includes('grid_worker');

export function kindName(kind) {
  return {
    household: t('Household'), house: t('House'), land: t('Land parcel'), event: t('Event'),
    thing: t('Thing'), organisation: t('Organisation'), person: t('Person'),
  }[kind] || kind;
}

const yesNo = (value) => (value === true ? t('Yes') : value === false ? t('No') : value);

/** Columns of each item kind: [label, function of the item giving the cell's text]. */
const attr = (...keys) => (item) => keys.reduce((v, k) => (v && typeof v === 'object' ? v[k] : undefined), item.attributes);
export const ITEM_COLUMNS = {
  household: [[t('Household'), (i) => i.name], [t('Head of household'), attr('head')], [t('Address'), attr('address')]],
  house: [[t('House address'), (i) => i.name], [t('Use'), attr('use')], [t('Owner'), attr('owner', 'name')],
    [t('Owner phone'), attr('owner', 'phone')], [t('Floor area (m²)'), attr('area')], [t('Structure'), attr('structure')],
    [t('Safety hazard'), (i) => yesNo(attr('hazard')(i))], [t('Note'), attr('note')]],
  land: [[t('Parcel'), (i) => i.name], [t('Land type'), attr('type')], [t('Holder'), attr('holder', 'name')],
    [t('Certificate no.'), attr('cert_no')], [t('Area (mu)'), attr('area')], [t('Boundaries'), attr('bounds')]],
  event: [[t('Event'), (i) => i.name], [t('Type'), attr('type')], [t('Date'), attr('occurred_on')],
    [t('Reported by'), attr('reporter')], [t('Status'), attr('status')], [t('Place'), attr('place')],
    [t('Description'), attr('description')]],
  thing: [[t('Facility'), (i) => i.name], [t('Type'), attr('type')], [t('Place'), attr('place')],
    [t('Status'), attr('status')], [t('Keeper'), attr('keeper', 'name')], [t('Keeper phone'), attr('keeper', 'phone')]],
  organisation: [[t('Organisation'), (i) => i.name], [t('Type'), attr('type')], [t('Credit code'), attr('uscc')],
    [t('Contact'), attr('contact', 'name')], [t('Contact phone'), attr('contact', 'phone')], [t('Address'), attr('address')],
    [t('Members'), attr('members')]],
};

/** The grid's name from its path, using the units the page loaded. */
export function gridName(units, path) {
  const unit = units.find((u) => u.path === path);
  return unit ? unit.name : (path || '').split('/').filter(Boolean).pop() || '';
}

/** A table cell with its label for the stacked phone layout. */
export function cell(label, ...content) {
  return h('td', { 'data-label': label }, ...content);
}

/** China-time calendar helpers: a local day is YYYY-MM-DD in Asia/Shanghai. */
const DAY = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });
export function today() { return DAY.format(new Date()); }
export function addDays(day, n) {
  const d = new Date(`${day}T12:00:00+08:00`);
  d.setUTCDate(d.getUTCDate() + n);
  return DAY.format(d);
}
export function mondayOf(day) {
  const weekday = new Date(`${day}T12:00:00+08:00`).getUTCDay();  // noon in China is the same day in UTC
  return addDays(day, -((weekday + 6) % 7));
}
export function weekdayName(day) {
  const names = [t('Sun'), t('Mon'), t('Tue'), t('Wed'), t('Thu'), t('Fri'), t('Sat')];
  return names[new Date(`${day}T12:00:00+08:00`).getUTCDay()];
}
