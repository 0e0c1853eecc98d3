// The dashboard's charts: Apache ECharts, only the parts used (bars, a line, tooltips), so the page
// stays light on a phone. Each chart shows 排查数 and 化解数 as bars and 化解率 as a line; the
// numbers appear on hover.
import * as echarts from 'echarts/core';
import { BarChart, LineChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import { CanvasRenderer } from 'echarts/renderers';
import { t } from '../lib/page.js';

echarts.use([BarChart, LineChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

const charts = {};

export function percent(rate) {
  return rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(1)}%`;
}

/** The ECharts option for one breakdown: categories are the groups' labels. */
export function chartOption(groups) {
  const rateSeries = groups.map((g) => (g.resolution_rate === null ? null : Math.round(g.resolution_rate * 1000) / 10));
  return {
    animation: false,
    tooltip: {
      trigger: 'axis',
      axisPointer: { type: 'shadow' },
      valueFormatter: (value) => (value === null || value === undefined ? '—' : String(value)),
    },
    legend: { top: 0 },
    grid: { left: 40, right: 48, top: 56, bottom: 56 },
    xAxis: { type: 'category', data: groups.map((g) => g.label), axisLabel: { interval: 0, rotate: groups.length > 4 ? 30 : 0 } },
    yAxis: [
      { type: 'value', name: t('Count'), minInterval: 1 },
      { type: 'value', name: '%', min: 0, max: 100, splitLine: { show: false } },
    ],
    series: [
      { id: 'screened', name: t('Disputes screened'), type: 'bar', barMaxWidth: 40, data: groups.map((g) => g.screened) },
      { id: 'resolved', name: t('Resolved'), type: 'bar', barMaxWidth: 40, data: groups.map((g) => g.resolved) },
      { id: 'overdue_cases', name: t('Overdue cases'), type: 'bar', barMaxWidth: 40, data: groups.map((g) => g.overdue_cases) },
      { id: 'resolution_rate', name: t('Resolution rate (%)'), type: 'line', yAxisIndex: 1, data: rateSeries,
        connectNulls: false },
    ],
  };
}

/** Draw (or redraw) the chart of one breakdown in its container; a click on a bar calls
 * ``onBar(series id, group)`` (the dashboard opens the cases behind it). */
export function drawChart(group, container, groups, onBar = null) {
  let chart = charts[group];
  if (!chart) {
    chart = echarts.init(container, null, { renderer: 'canvas' });
    charts[group] = chart;
  }
  chart.setOption(chartOption(groups), { notMerge: true });
  chart.off('click');
  if (onBar) chart.on('click', (event) => onBar(event.seriesId, groups[event.dataIndex]));
  container.dataset.groups = String(groups.length);
  return chart;
}

export function resizeCharts() {
  for (const chart of Object.values(charts)) chart.resize();
}

/** For tests and the curious: the live option of a chart (what ECharts draws and shows on hover). */
export function chartData(group) {
  const chart = charts[group];
  if (!chart) return null;
  const option = chart.getOption();
  return {
    categories: option.xAxis[0].data,
    series: Object.fromEntries(option.series.map((s) => [s.id, s.data])),
  };
}
