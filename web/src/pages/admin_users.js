// Administrators' user screen: the users of the admin's area, create one, edit one (name, unit,
// roles), deactivate, reactivate, reset a password. Every rule (area, roles, own account) is the API's; this page shows its answers.
import { api, ApiError, attempt, h, lang, notify, t, user as me } from '../lib/page.js';
import '../audit/audit.css';
import '../audit/admin.css';

const $ = (id) => document.getElementById(id);
const PAGE_SIZE = 50;
let state = { page: 1, q: '', active: 'true' };
let roleNames = {};
let units = [];
let editing = null; // the account the form edits, or null when it creates one

function roleName(code) {
  return roleNames[code] || code;
}

function showSecret(username, password) {
  const box = $('password-result');
  box.hidden = false;
  box.replaceChildren(
    h('strong', {}, t('Temporary password for {username}:', { username })), ' ',
    h('code', { id: 'temporary-password' }, password),
    h('p', { class: 'hint' }, t('Shown once. Give it to the user in person; they must change it at their next sign-in.')),
    h('button', { type: 'button', onclick: () => { box.hidden = true; box.replaceChildren(); } }, t('Got it')));
  box.scrollIntoView({ block: 'nearest' });
}

async function deactivate(account) {
  if (!window.confirm(t('Deactivate {username}? They are signed out at once.', { username: account.username }))) return;
  await api(`admin/users/${account.id}`, { method: 'DELETE' });
  notify(t('{username} deactivated', { username: account.username }));
  await load();
}

async function reactivate(account) {
  await api(`admin/users/${account.id}`, { method: 'PATCH', body: { active: true } });
  notify(t('{username} reactivated', { username: account.username }));
  await load();
}

async function resetPassword(account) {
  if (!window.confirm(t('Reset the password of {username}? Their sessions end.', { username: account.username }))) return;
  const answer = await api(`admin/users/${account.id}/password`, { method: 'POST', body: {} });
  if (answer && answer.temporary_password) showSecret(account.username, answer.temporary_password);
  else notify(t('Password reset'));
  await load();
}

function row(account) {
  const self = me && account.username === me.username;
  const actions = [h('button', { type: 'button', class: 'edit-user', onclick: () => openEdit(account) }, t('Edit')),
    h('button', { type: 'button', onclick: () => attempt(() => resetPassword(account)) }, t('Reset password'))];
  if (account.active && !self) {
    actions.push(h('button', { type: 'button', class: 'danger', onclick: () => attempt(() => deactivate(account)) }, t('Deactivate')));
  } else if (!account.active) {
    actions.push(h('button', { type: 'button', onclick: () => attempt(() => reactivate(account)) }, t('Reactivate')));
  }
  return h('tr', { dataset: { username: account.username } },
    h('td', { 'data-label': t('Username') }, h('code', {}, account.username)),
    h('td', { 'data-label': t('Name') }, account.display_name),
    h('td', { 'data-label': t('Unit'), title: account.unit_path }, account.unit_name),
    h('td', { 'data-label': t('Roles') }, account.roles.map(roleName).join('、')),
    h('td', { 'data-label': t('Account status') },
      h('span', { class: account.active ? 'state-on' : 'state-off' }, account.active ? t('Active') : t('Deactivated')),
      account.must_change_password ? h('span', { class: 'hint' }, ` · ${t('must change password')}`) : ''),
    h('td', { class: 'row-actions' }, actions));
}

async function load() {
  const answer = await api('admin/users', { query: { page: state.page, page_size: PAGE_SIZE, q: state.q, active: state.active } });
  $('user-rows').replaceChildren(...answer.items.map(row));
  $('no-users').hidden = answer.items.length > 0;
  const pages = Math.max(1, Math.ceil(answer.total / PAGE_SIZE));
  $('up-label').textContent = t('Page {page} of {pages} ({total} users)', { page: state.page, pages, total: answer.total });
  $('up-prev').disabled = state.page <= 1;
  $('up-next').disabled = state.page >= pages;
}

function clearErrors(form) {
  for (const node of form.querySelectorAll('[data-error-for]')) { node.hidden = true; node.textContent = ''; }
  for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
  $('user-form-error').hidden = true;
}

function showErrors(form, errors, message) {
  let placed = false;
  for (const [field, text] of Object.entries(errors || {})) {
    const key = field === 'unit_code' ? 'unit_id' : field;
    const node = form.querySelector(`[data-error-for="${key}"]`);
    if (!node) continue;
    node.textContent = Array.isArray(text) ? text.join(' ') : String(text);
    node.hidden = false;
    const input = form.querySelector(`[name="${key}"]`);
    if (input) input.setAttribute('aria-invalid', 'true');
    placed = true;
  }
  if (!placed || message) {
    $('user-form-error').textContent = message;
    $('user-form-error').hidden = false;
  }
}

/** Open the form on an existing account: its name, unit and roles can change (each change is audited). */
function openEdit(account) {
  const form = $('user-form');
  form.reset();
  clearErrors(form);
  editing = account;
  $('nu-username').value = account.username;
  $('nu-username').disabled = true;
  $('nu-display-name').value = account.display_name;
  $('nu-service-phone').value = account.service_phone || '';
  $('nu-unit').value = String(account.unit_id);
  for (const box of form.querySelectorAll('input[name="roles"]')) box.checked = account.roles.includes(box.value);
  $('nu-password-field').hidden = true;
  $('new-user-title').textContent = t('Edit user');
  $('user-submit').textContent = t('Save changes');
  toggleForm(true);
  $('nu-display-name').focus();
}

function closeForm() {
  editing = null;
  $('nu-username').disabled = false;
  $('nu-password-field').hidden = false;
  $('new-user-title').textContent = t('New user');
  $('user-submit').textContent = t('Create user');
  $('user-form').reset();
  toggleForm(false);
}

async function saveUser(form) {
  clearErrors(form);
  const roles = [...form.querySelectorAll('input[name="roles"]:checked')].map((box) => box.value);
  const body = {
    display_name: $('nu-display-name').value.trim(), service_phone: $('nu-service-phone').value.trim() || null,
    unit_id: Number($('nu-unit').value), roles,
  };
  if (!body.display_name || !roles.length) {
    showErrors(form, body.display_name ? { roles: t('Choose at least one role') } : { display_name: t('Required') }, '');
    return;
  }
  try {
    const saved = await api(`admin/users/${editing.id}`, { method: 'PATCH', body });
    notify(t('{username} saved', { username: saved.username }));
    closeForm();
    await load();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showErrors(form, error.errors, error.message);
  }
}

async function createUser(form) {
  if (editing) return saveUser(form);
  clearErrors(form);
  const roles = [...form.querySelectorAll('input[name="roles"]:checked')].map((box) => box.value);
  const body = {
    username: $('nu-username').value.trim(), display_name: $('nu-display-name').value.trim(),
    service_phone: $('nu-service-phone').value.trim() || null, unit_id: Number($('nu-unit').value), roles,
  };
  const local = {};
  if (!body.username) local.username = t('Required');
  if (!body.display_name) local.display_name = t('Required');
  if (!roles.length) local.roles = t('Choose at least one role');
  if (Object.keys(local).length) {
    showErrors(form, local, '');
    return;
  }
  if ($('nu-password').value) body.password = $('nu-password').value;
  try {
    const created = await api('admin/users', { method: 'POST', body });
    notify(t('{username} created', { username: created.username }));
    if (created.temporary_password) showSecret(created.username, created.temporary_password);
    closeForm();
    state = { page: 1, q: created.username, active: '' };
    $('uf-q').value = created.username;
    $('uf-active').value = '';
    await load();
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    showErrors(form, error.errors, error.message);
  }
}

function toggleForm(open) {
  $('new-user').hidden = !open;
  $('new-user-toggle').setAttribute('aria-expanded', open ? 'true' : 'false');
  if (open && !editing) $('nu-username').focus();
}

const KIND_ORDER = ['city', 'town', 'village', 'grid', 'department'];

/** Units as a tree: each unit under its parent, the areas before the departments at each level (the
 * API's path order put the city's departments between its towns). */
function treeOrder(list) {
  const children = new Map();
  for (const unit of list) {
    const parent = unit.path.replace(/[^/]+\/$/, '');
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(unit);
  }
  const rank = (unit) => KIND_ORDER.indexOf(unit.kind);
  const out = [];
  const visit = (unit) => {
    out.push(unit);
    (children.get(unit.path) || []).sort((a, b) => rank(a) - rank(b) || a.path.localeCompare(b.path)).forEach(visit);
  };
  const paths = new Set(list.map((unit) => unit.path));
  list.filter((unit) => !paths.has(unit.path.replace(/[^/]+\/$/, ''))).forEach(visit);
  return out;
}

async function start() {
  const [roles, unitList] = await Promise.all([api('admin/roles'), api('admin/units')]);
  for (const role of roles) roleNames[role.code] = role.zh && lang === 'zh_CN' ? role.zh : (role.en || role.code);
  units = treeOrder(unitList);
  const depth = (unit) => Math.max(0, unit.path.split('/').filter(Boolean).length - 1);
  $('nu-unit').replaceChildren(...units.map((unit) => h('option', { value: unit.id },
    `${'\u3000'.repeat(depth(unit))}${unit.name}${unit.kind === 'department' ? `（${t('department')}）` : ''}`)));
  $('nu-roles').replaceChildren(...roles.map((role) => h('label', { class: 'choice' },
    h('input', { type: 'checkbox', name: 'roles', value: role.code }), ' ', roleName(role.code))));
  await load();
}

$('new-user-toggle').addEventListener('click', () => {
  if (editing || !$('new-user').hidden) closeForm();
  else toggleForm(true);
});
$('new-user-cancel').addEventListener('click', closeForm);
$('user-form').addEventListener('submit', (event) => {
  event.preventDefault();
  attempt(() => createUser(event.currentTarget));
});
$('user-filter').addEventListener('submit', (event) => {
  event.preventDefault();
  state = { page: 1, q: $('uf-q').value.trim(), active: $('uf-active').value };
  attempt(load);
});
$('up-prev').addEventListener('click', () => { state.page -= 1; attempt(load); });
$('up-next').addEventListener('click', () => { state.page += 1; attempt(load); });

attempt(start);
