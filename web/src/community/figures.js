// 干部联系提示卡 coverage and issuing, the 六大行动 counts and tags, and the visit and patrol hours
// per person on a day (4 hours a day is the practice's figure).
import { api, attempt, h, notify, t } from '../lib/page.js';
import { $, submitting } from '../prevention/common.js';
import { today, unitName } from './shared.js';

export async function loadCards() {
  const [coverage, missing] = await Promise.all([api('community/contact-card-coverage'),
    api('community/households-without-card')]);
  $('coverage-rows').replaceChildren(...coverage.map((row) => h('tr', {},
    h('td', { 'data-label': t('Village') }, row.village), h('td', { 'data-label': t('Census households') }, String(row.households)),
    h('td', { 'data-label': t('With a card') }, String(row.with_card)),
    h('td', { 'data-label': t('Without a card') }, h('strong', {}, String(row.without_card))))));
  $('card-household').replaceChildren(...missing.map((household) => h('option', { value: household.id },
    `${household.name}（${unitName(household.grid_path)}）`)));
}

export async function loadCampaigns() {
  const month = $('campaign-month').value;
  const rows = await api('community/campaign-counts', { query: month ? { month } : {} });
  $('campaign-rows').replaceChildren(...rows.map((row) => h('tr', { dataset: { campaign: row.campaign } },
    h('td', { 'data-label': t('Campaign') }, row.campaign_name), h('td', { 'data-label': t('Cases') }, String(row.cases)),
    h('td', { 'data-label': t('Patrols') }, String(row.patrols)), h('td', { 'data-label': t('Events held') }, String(row.events)),
    h('td', { 'data-label': t('Total') }, h('strong', {}, String(row.total))))));
}

export async function loadHours() {
  const rows = await api('community/activity-hours', { query: { date: $('hours-date').value || today() } });
  $('hours-rows').replaceChildren(...rows.map((row) => h('tr', {},
    h('td', { 'data-label': t('Person') }, row.person_name || h('code', {}, row.person)), h('td', { 'data-label': t('Visit hours') }, String(row.visit_hours)),
    h('td', { 'data-label': t('Patrol hours') }, String(row.patrol_hours)),
    h('td', { 'data-label': t('Total hours') }, h('strong', {}, String(row.hours))),
    h('td', { 'data-label': t('4 hours reached') }, row.met ? t('Yes') : t('No')))));
}

export function initFigures() {
  $('card-date').value = today();
  $('campaign-month').value = today().slice(0, 7);
  $('hours-date').value = today();
  const cardForm = $('card-form');
  cardForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(cardForm, async () => {
      const data = cardForm.elements;
      await api('community/contact-cards', { method: 'POST', body: {
        household_id: Number(data.household_id.value), cadre: data.cadre.value.trim(), contact: data.contact.value.trim(),
        issued_on: data.issued_on.value } });
      notify(t('Card recorded'));
      await loadCards();
    }));
  });
  const tagForm = $('tag-form');
  tagForm.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(() => submitting(tagForm, async () => {
      const data = tagForm.elements;
      const tag = await api('community/campaign-tags', { method: 'POST', body: {
        target_type: data.target_type.value, target_id: Number(data.target_id.value), campaign: data.campaign.value } });
      notify(t('Counted under {name}', { name: tag.campaign_name }));
      await loadCampaigns();
    }));
  });
  $('campaign-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(loadCampaigns); });
  $('hours-form').addEventListener('submit', (event) => { event.preventDefault(); attempt(loadHours); });
}
