// 五会一队: organisations per village, their rosters (phones masked by the API), appointing a
// member to a case's mediation, participations counted.
import { api, attempt, h, notify, t } from '../lib/page.js';
import { $, emptyRow, submitting } from '../prevention/common.js';
import { unitName } from './shared.js';

let current = null;

export async function loadOrgs() {
  const [orgs, counts] = await Promise.all([api('community/orgs'), api('community/participations')]);
  const byOrg = new Map(counts.map((row) => [row.org_id, row.appointments]));
  emptyRow($('org-rows'), $('org-empty'), orgs.map((org) => h('tr', { dataset: { orgId: org.id } },
    h('td', { 'data-label': t('Organisation') }, h('strong', {}, org.name)),
    h('td', { 'data-label': t('Area') }, unitName(org.area_path)),
    h('td', { 'data-label': t('Member count') }, String(org.member_count)),
    h('td', { 'data-label': t('Participations') }, String(byOrg.get(org.id) || 0)),
    h('td', { 'data-label': t('Actions') }, h('button', { type: 'button', onclick: () => attempt(() => openOrg(org.id)) },
      t('Roster'))))));
}

async function openOrg(id) {
  const org = await api(`community/orgs/${id}`);
  current = org;
  $('org-detail').hidden = false;
  $('org-detail-title').textContent = `${org.name}（${unitName(org.area_path)}）`;
  $('member-rows').replaceChildren(...org.members.map((member) => h('tr', { dataset: { memberId: member.id } },
    h('td', { 'data-label': t('Name') }, member.name),
    h('td', { 'data-label': t('Member title') }, member.title || '—'),
    h('td', { 'data-label': t('Phone') }, member.phone || '—'),
    h('td', { 'data-label': t('Participations') }, String(member.participations)),
    h('td', { 'data-label': t('Status') }, member.active ? t('On the roster') : t('Off the roster')))));
  $('appoint-member').replaceChildren(...org.members.filter((member) => member.active)
    .map((member) => h('option', { value: member.id }, member.name)));
}

export function initOrgs() {
  const orgForm = $('org-form');
  orgForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(orgForm, async () => {
      const org = await api('community/orgs', { method: 'POST', body: {
        village: orgForm.elements.village.value, kind: orgForm.elements.kind.value } });
      notify(t('{name} created', { name: org.name }));
      $('org-new').open = false;
      await loadOrgs();
      await openOrg(org.id);
    }));
  });
  const memberForm = $('member-form');
  memberForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(memberForm, async () => {
      const data = memberForm.elements;
      await api(`community/orgs/${current.id}/members`, { method: 'POST', body: {
        name: data.name.value.trim(), title: data.title.value.trim(), phone: data.phone.value.trim() || null } });
      memberForm.reset();
      await Promise.all([openOrg(current.id), loadOrgs()]);
    }));
  });
  const appointForm = $('appoint-form');
  appointForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(appointForm, async () => {
      const data = appointForm.elements;
      const made = await api(`community/cases/${Number(data.case_id.value)}/appointments`, { method: 'POST', body: {
        member_id: Number(data.member_id.value), role: data.role.value.trim() || '参与调解' } });
      notify(t('{name} appointed to case {case}', { name: made.member_name, case: made.case_no }));
      await Promise.all([openOrg(current.id), loadOrgs()]);
    }));
  });
}
