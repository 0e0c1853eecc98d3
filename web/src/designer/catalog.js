// What the properties panel offers: deployed forms, SLA keys and roles. Loaded once per page,
// before the modeler is created, so the panel's select boxes can answer synchronously.
import { api } from '../lib/page.js';

export const catalog = { forms: [], slaKeys: [], roles: [] };

export async function loadCatalog() {
  const [forms, slaKeys, roles] = await Promise.all([
    api('definitions/forms'), api('definitions/sla-keys'), api('definitions/roles'),
  ]);
  Object.assign(catalog, { forms, slaKeys, roles });
  return catalog;
}

/** The role a lane's name names (by code, Chinese or English name), or undefined. */
export function roleOf(name) {
  const wanted = (name || '').trim().toLowerCase();
  if (!wanted) return undefined;
  return catalog.roles.find((role) => [role.code, role.zh, role.en].some((n) => (n || '').toLowerCase() === wanted));
}
