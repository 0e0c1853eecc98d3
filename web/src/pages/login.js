import { api, ApiError, params, t } from '../lib/page.js';

const loginForm = document.getElementById('login-form');
const passwordForm = document.getElementById('password-form');

function showError(id, message) {
  const node = document.getElementById(id);
  node.textContent = message;
  node.hidden = !message;
}

function next() {
  window.location.assign(params.next || '/');
}

if (params.change_password) {
  passwordForm.hidden = false;
  loginForm.hidden = true;
}

loginForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('login-error', '');
  const username = document.getElementById('username').value.trim();
  const password = document.getElementById('password').value;
  if (!username || !password) {
    showError('login-error', t('Enter your username and password.'));
    return;
  }
  try {
    const session = await api('auth/session', { method: 'POST', body: { username, password } });
    if (session.must_change_password) {
      loginForm.hidden = true;
      passwordForm.hidden = false;
      document.getElementById('old-password').value = password;
      return;
    }
    next();
  } catch (error) {
    showError('login-error', error instanceof ApiError ? error.message : String(error));
  }
});

passwordForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError('password-error', '');
  try {
    await api('auth/password', { method: 'POST', body: {
      old: document.getElementById('old-password').value, new: document.getElementById('new-password').value } });
    window.location.assign('/login');
  } catch (error) {
    showError('password-error', error instanceof ApiError ? error.message : String(error));
  }
});
