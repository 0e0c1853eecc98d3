// 群防群治 (/community): 五会一队 rosters and appointments, 警民恳谈会 and service posts with their
// issues, 干部联系提示卡, 六大行动 and daily hours. Every rule is the API's (api/community); this page
// shows its answers.
import { attempt } from '../lib/page.js';
import { $ } from '../prevention/common.js';
import { fillUnitSelect, fillVocabularies, loadUnits } from '../community/shared.js';
import { initOrgs, loadOrgs } from '../community/orgs.js';
import { initEvents, loadEventCounts, loadEvents } from '../community/events.js';
import { initFigures, loadCampaigns, loadCards, loadHours } from '../community/figures.js';
import '../prevention/prevention.css';

async function start() {
  await loadUnits();
  fillVocabularies();
  fillUnitSelect($('org-village'), ['village']);
  fillUnitSelect($('event-area'), ['town', 'village']);
  initOrgs();
  initEvents();
  initFigures();
  await Promise.all([loadOrgs(), loadEvents(), loadEventCounts(), loadCards(), loadCampaigns(), loadHours()]);
}

attempt(start);
