// Tab 3: patrol teams (巡逻队), their logs and the hours per team in a month.
import { api, attempt, h, notify, t, when } from '../lib/page.js';
import { $, areaName, beijing, beijingLocal, emptyRow, showErrors, submitting } from './common.js';

let teams = [];

function teamName(id) {
  const team = teams.find((item) => item.id === id);
  return team ? team.name : `#${id}`;
}

function fillTeamSelects() {
  for (const select of document.querySelectorAll('[data-team-select]')) {
    const keep = select.value;
    select.replaceChildren(...teams.map((team) => h('option', { value: team.id }, `${team.name}（${areaName(team.area_path)}）`)));
    if (keep) select.value = keep;
  }
  for (const select of document.querySelectorAll('[data-team-filter]')) {
    const keep = select.value;
    const first = select.querySelector('option[value=""]');
    select.replaceChildren(first, ...teams.map((team) => h('option', { value: team.id }, team.name)));
    select.value = keep;
  }
}

export async function loadTeams() {
  teams = await api('prevention/patrol-teams');
  emptyRow($('pt-rows'), $('pt-empty'), teams.map((team) => h('tr', { dataset: { teamId: team.id } },
    h('td', { 'data-label': t('Team name') }, h('strong', {}, team.name)),
    h('td', { 'data-label': t('Area') }, areaName(team.area_path)),
    h('td', { 'data-label': t('Team members') }, team.members.map((member) => h('span', { class: 'tag' },
      member.username ? `${member.name}（${member.username}）` : member.name))))));
  fillTeamSelects();
}

function issueList(issues) {
  if (!issues || !issues.length) return '—';
  return h('ul', { class: 'issues' }, issues.map((issue) => h('li', {}, issue.description,
    issue.case_id ? [' ', h('a', { href: `/cases/${issue.case_id}` }, t('Case {id}', { id: issue.case_id }))] : '')));
}

function timeRange(log) {
  const start = when(log.started_at);
  const end = when(log.ended_at);
  return start.slice(0, 10) === end.slice(0, 10) ? `${start.slice(-5)}–${end.slice(-5)}` : `${start}–${end}`;
}

export async function loadLogs() {
  const form = $('pl-filter');
  const data = form.elements;
  const logs = await submitting(form, () => api('prevention/patrol-logs', { query: {
    area: data.area.value, team_id: data.team_id.value, date_from: data.date_from.value, date_to: data.date_to.value } }));
  if (!logs) return;
  emptyRow($('pl-rows'), $('pl-empty'), logs.map((log) => h('tr', { dataset: { logId: log.id } },
    h('td', { 'data-label': t('Date') }, log.patrol_date),
    h('td', { 'data-label': t('Patrol team') }, teamName(log.team_id)),
    h('td', { 'data-label': t('Time') }, timeRange(log)),
    h('td', { 'data-label': t('Patrol hours') }, String(log.hours)),
    h('td', { 'data-label': t('Route') }, log.route),
    h('td', { 'data-label': t('Patrol findings') }, log.findings || '—'),
    h('td', { 'data-label': t('Issues found') }, issueList(log.issues)))));
}

export async function loadHours() {
  const form = $('ph-form');
  const month = $('ph-month').value;
  const error = document.querySelector('[data-error-for="month"]');
  error.hidden = true;
  if (!month) { error.textContent = t('Choose a month'); error.hidden = false; return; }
  const rows = await api('prevention/patrol-hours', { query: { month } });
  $('ph-rows').replaceChildren(...rows.map((row) => h('tr', { dataset: { teamId: row.team_id } },
    h('td', { 'data-label': t('Patrol team') }, row.team_name),
    h('td', { 'data-label': t('Area') }, areaName(row.area_path)),
    h('td', { 'data-label': t('Patrols') }, String(row.patrols)),
    h('td', { 'data-label': t('Patrol hours') }, h('strong', {}, String(row.hours))))));
  if (!rows.length) $('ph-rows').append(h('tr', {}, h('td', { colspan: 4, class: 'hint' }, t('No patrol teams yet.'))));
  form.dataset.month = month;
}

/** "护栏松动 #12" → {description, case_id: 12}. */
function parseIssues(text) {
  return String(text || '').split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = line.match(/^(.*?)\s*[#＃](\d+)$/);
    return match && match[1] ? { description: match[1], case_id: Number(match[2]) } : { description: line };
  });
}

/** "王调解 mediator" → {name, username}; a line without a Latin username is a name only. */
function parseMembers(text) {
  return String(text || '').split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
    const match = line.match(/^(.+?)\s+([A-Za-z0-9_.@-]+)$/);
    return match ? { name: match[1], username: match[2] } : { name: line };
  });
}

function defaultTimes(form) {
  const now = new Date();
  form.elements.ended_at.value = beijingLocal(now);
  form.elements.started_at.value = beijingLocal(new Date(now.getTime() - 2 * 3600 * 1000));
}

export function initPatrol() {
  const teamForm = $('pt-form');
  teamForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(teamForm, async () => {
      const data = teamForm.elements;
      const members = parseMembers(data.members.value);
      if (!members.length) { showErrors(teamForm, { members: t('Write at least one member') }, ''); return; }
      const team = await api('prevention/patrol-teams', { method: 'POST', body: {
        area: data.area.value, name: data.name.value.trim(), members } });
      notify(t('Patrol team {name} created', { name: team.name }));
      teamForm.reset();
      $('pt-new').open = false;
      await loadTeams();
      $('pl-team').value = String(team.id);
      await loadHours();
    }));
  });

  const logForm = $('pl-form');
  defaultTimes(logForm);
  logForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(logForm, async () => {
      const data = logForm.elements;
      const local = {};
      if (!data.team_id.value) local.team_id = t('Create a patrol team first');
      if (!data.started_at.value) local.started_at = t('Required');
      if (!data.ended_at.value) local.ended_at = t('Required');
      if (Object.keys(local).length) { showErrors(logForm, local, ''); return; }
      const log = await api('prevention/patrol-logs', { method: 'POST', body: {
        team_id: Number(data.team_id.value), started_at: beijing(data.started_at.value),
        ended_at: beijing(data.ended_at.value), route: data.route.value.trim(), findings: data.findings.value.trim(),
        issues: parseIssues(data.issues.value) } });
      notify(t('Patrol log saved: {hours} hours', { hours: log.hours }));
      const team = data.team_id.value;
      logForm.reset();
      data.team_id.value = team;
      defaultTimes(logForm);
      $('ph-month').value = log.patrol_date.slice(0, 7);
      await Promise.all([loadLogs(), loadHours()]);
    }));
  });

  $('ph-month').value = beijingLocal(new Date()).slice(0, 7);
  $('ph-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(loadHours); });
  $('ph-month').addEventListener('change', () => attempt(loadHours));
  $('pl-filter').addEventListener('submit', (event) => { event.preventDefault(); attempt(loadLogs); });
}
