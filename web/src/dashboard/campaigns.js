// The dashboard's 平安建设"六大行动" figure: per campaign, the cases, patrols and events counted under
// it in a month (stacked bars), for the area chosen in the statistics filters.
// Data: GET /api/v1/community/campaign-counts (docs/prevention.md §4).
import * as echarts from 'echarts/core';
import { BarChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { api, attempt, t } from '../lib/page.js';

echarts.use([BarChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const container = document.getElementById('chart-campaigns');
const month = document.getElementById('c-month');
const area = document.getElementById('s-area');
const SERIES = [['cases', 'Cases'], ['patrols', 'Patrols'], ['events', 'Events held']];
let chart = null;
const state = { rows: [] };
window.cunliaoCampaigns = state; // tests read the last answer here

export function campaignOption(rows) {
  return {
    animation: false,
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    legend: { top: 0 },
    grid: { left: 40, right: 24, top: 40, bottom: 72 },
    xAxis: { type: 'category', data: rows.map((r) => r.campaign_name), axisLabel: { interval: 0, rotate: 20 } },
    yAxis: { type: 'value', name: t('Count'), minInterval: 1 },
    series: SERIES.map(([id, label]) => ({ id, name: t(label), type: 'bar', stack: 'total', barMaxWidth: 40,
      data: rows.map((r) => r[id]) })),
  };
}

async function load() {
  const query = { area: area ? area.value : '' };
  if (month.value) query.month = month.value;
  state.rows = await api('community/campaign-counts', { query });
  chart = chart || echarts.init(container, null, { renderer: 'canvas' });
  chart.setOption(campaignOption(state.rows), { notMerge: true });
  container.dataset.total = String(state.rows.reduce((sum, r) => sum + r.total, 0));
}

if (container && month) {
  month.value = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai' }).format(new Date()).slice(0, 7);
  month.addEventListener('change', () => attempt(load));
  document.getElementById('stats-filters').addEventListener('submit', () => attempt(load));
  window.addEventListener('resize', () => chart && chart.resize());
  attempt(load);
}
