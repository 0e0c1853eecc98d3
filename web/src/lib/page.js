// What every page shares: the data the server rendered into the page, translations, the API client,
// notices, and the header's sign-out button. Pages import from here, never from each other.
import './base.css';

const dataNode = document.getElementById('page-data');
export const pageData = dataNode ? JSON.parse(dataNode.textContent) : { params: {}, strings: {}, lang: 'zh_CN' };
export const params = pageData.params || {};
export const user = pageData.user;
export const lang = pageData.lang;

/** Translate an English message (see web/i18n/zh_CN/*.po); `{name}` placeholders take `values`. */
export function t(message, values = {}) {
  const text = (pageData.strings && pageData.strings[message]) || message;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in values ? String(values[name]) : whole));
}

/** A problem+json answer, with the message a person can act on in the UI's language. */
export class ApiError extends Error {
  constructor(status, problem) {
    super((lang === 'zh_CN' ? problem.message : problem.detail) || problem.message || problem.title || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.errors = problem.errors || {};
  }
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)cunliao_csrf=([^;]*)/);
  return match ? decodeURIComponent(match[1]) : '';
}

/** Call /api/v1 with the session cookie. Throws ApiError on an error answer; answers JSON, text or a Blob. */
export async function api(path, { method = 'GET', body, query, raw = false, form } = {}) {
  let url = path.startsWith('/') ? path : `/api/v1/${path}`;
  if (query) {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') search.append(key, value);
    }
    if ([...search].length) url += `?${search}`;
  }
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = csrfToken();
  let payload;
  if (form) payload = form;
  else if (body !== undefined) { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  const response = await fetch(url, { method, headers, body: payload, credentials: 'same-origin' });
  if (response.status === 401 && !path.includes('auth/session')) {
    window.location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new ApiError(401, { message: t('Please sign in again'), detail: 'signed out' });
  }
  if (!response.ok) {
    let problem = {};
    try { problem = await response.json(); } catch (ignored) { problem = { detail: response.statusText }; }
    throw new ApiError(response.status, problem);
  }
  if (raw) return response.blob();
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  return type.includes('json') ? response.json() : response.text();
}

/** A short notice at the bottom of the screen. */
export function notify(message, kind = 'info') {
  const toast = document.getElementById('toast');
  if (!toast) return;
  toast.textContent = message;
  toast.dataset.kind = kind;
  toast.hidden = false;
  clearTimeout(notify.timer);
  notify.timer = setTimeout(() => { toast.hidden = true; }, kind === 'error' ? 8000 : 4000);
}

/** Run an async UI action; an error becomes a notice instead of an unhandled rejection. */
export async function attempt(action) {
  try {
    return await action();
  } catch (error) {
    notify(error instanceof ApiError ? error.message : t('Something went wrong: {message}', { message: error.message }), 'error');
    if (!(error instanceof ApiError)) console.warn(error);
    return undefined;
  }
}

/** Create an element: h('a', {href: '/x', class: 'y'}, 'text', child...). */
export function h(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, '');
    else node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

const TIME = new Intl.DateTimeFormat(lang === 'zh_CN' ? 'zh-CN' : 'en-GB', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
});

/** A timestamp in China time (the case's legal time zone), whatever the browser's zone. */
export function when(iso) {
  return iso ? TIME.format(new Date(iso)) : '';
}

/** Due-time colour class: overdue, due within a day, or fine. */
export function dueClass(iso, now = Date.now()) {
  if (!iso) return 'due-none';
  const left = new Date(iso).getTime() - now;
  if (left < 0) return 'due-over';
  if (left < 24 * 3600 * 1000) return 'due-soon';
  return 'due-ok';
}

// disabled in the page until this runs: a click before the script has loaded would do nothing
const logout = document.getElementById('logout');
if (logout) {
  logout.addEventListener('click', () => attempt(async () => {
    await api('auth/session', { method: 'DELETE' });
    window.location.assign('/login');
  }));
  logout.disabled = false;
}
