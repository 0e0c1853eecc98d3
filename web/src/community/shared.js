// Shared by the community page's sections: the vocabularies of workflows/community.json (sent with
// the page), the caller's units, and Beijing dates.
import { api, h, params } from '../lib/page.js';

export const vocabularies = params.vocabularies || { organisation_kinds: {}, event_kinds: {}, campaigns: {} };
export const units = { list: [], byPath: new Map() };

export async function loadUnits() {
  units.list = await api('org/units');
  units.byPath = new Map(units.list.map((unit) => [unit.path, unit]));
}

/** "宋埠镇 · 杨家湾村" for a path. */
export function unitName(path) {
  const parts = String(path || '').split('/').filter(Boolean);
  const names = [];
  for (let i = 2; i <= parts.length; i += 1) {
    const unit = units.byPath.get(`/${parts.slice(0, i).join('/')}/`);
    if (unit) names.push(unit.name);
  }
  return names.length ? names.join(' · ') : path;
}

export function fillUnitSelect(select, kinds, first = null) {
  const options = units.list.filter((unit) => kinds.includes(unit.kind))
    .map((unit) => h('option', { value: unit.code }, unitName(unit.path)));
  select.replaceChildren(...(first ? [first] : []), ...options);
}

export function fillVocabularies() {
  for (const select of document.querySelectorAll('[data-vocabulary]')) {
    const entries = Object.entries(vocabularies[select.dataset.vocabulary] || {});
    select.replaceChildren(...entries.map(([code, name]) => h('option', { value: code }, name)));
  }
}

/** Today in China time, as YYYY-MM-DD. */
export function today() {
  return new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date());
}
