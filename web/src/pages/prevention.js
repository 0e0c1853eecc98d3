// 防范工作: risk-family screening lists, key-person follow-up plans, patrol teams and logs, one tab each
// (?tab=screening|followup|patrol). Every rule (area, roles, checks) is the API's; this page shows its answers.
import { attempt, params } from '../lib/page.js';
import { fillAreaSelects, loadAreas } from '../prevention/common.js';
import { initScreening, loadLists } from '../prevention/screening.js';
import { initFollowup, loadPlans } from '../prevention/followup.js';
import { initPatrol, loadHours, loadLogs, loadTeams } from '../prevention/patrol.js';
import '../prevention/prevention.css';

const TABS = ['screening', 'followup', 'patrol'];
const loaded = new Set();
const LOADERS = {
  screening: () => loadLists(),
  followup: () => loadPlans(),
  patrol: async () => { await loadTeams(); await Promise.all([loadLogs(), loadHours()]); },
};

function show(tab, { push = false } = {}) {
  const name = TABS.includes(tab) ? tab : 'screening';
  for (const key of TABS) {
    const button = document.getElementById(`tab-${key}`);
    button.setAttribute('aria-selected', key === name ? 'true' : 'false');
    button.tabIndex = key === name ? 0 : -1;
    document.getElementById(`panel-${key}`).hidden = key !== name;
  }
  if (push) {
    const url = new URL(window.location.href);
    url.searchParams.set('tab', name);
    window.history.replaceState(null, '', url);
  }
  if (!loaded.has(name)) {
    loaded.add(name);
    attempt(LOADERS[name]);
  }
}

const tablist = document.getElementById('prev-tabs');
tablist.addEventListener('click', (event) => {
  const button = event.target.closest('[data-tab]');
  if (button) show(button.dataset.tab, { push: true });
});
tablist.addEventListener('keydown', (event) => {
  if (event.key !== 'ArrowRight' && event.key !== 'ArrowLeft') return;
  const at = TABS.indexOf(document.querySelector('#prev-tabs [aria-selected="true"]').dataset.tab);
  const next = TABS[(at + (event.key === 'ArrowRight' ? 1 : TABS.length - 1)) % TABS.length];
  show(next, { push: true });
  document.getElementById(`tab-${next}`).focus();
});

async function start() {
  await loadAreas();
  fillAreaSelects();
  initScreening();
  initFollowup();
  initPatrol();
  show(params.tab);
}

attempt(start);
