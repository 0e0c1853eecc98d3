// Two versions of a process side by side, their differences (bpmn-js-differ) coloured on both
// diagrams and listed; picking an entry selects the element in both.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import { diff } from 'bpmn-js-differ';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '../designer/designer.css';
import { api, attempt, h, params, t } from '../lib/page.js';
import { definitionXml } from '../lib/diagram.js';
import { moddleExtensions } from '../designer/modeler.js';
import { TranslateModule } from '../designer/translate.js';

const key = params.key;
const viewers = {
  left: new NavigatedViewer({ container: '#left-diagram', moddleExtensions, additionalModules: [TranslateModule] }),
  right: new NavigatedViewer({ container: '#right-diagram', moddleExtensions, additionalModules: [TranslateModule] }),
};
window.compareViewers = viewers;

const KINDS = {
  added: { label: () => t('Added'), marker: 'diff-added', sides: ['right'] },
  removed: { label: () => t('Removed'), marker: 'diff-removed', sides: ['left'] },
  changed: { label: () => t('Changed'), marker: 'diff-changed', sides: ['left', 'right'] },
  layout: { label: () => t('Moved or resized'), marker: 'diff-layout', sides: ['left', 'right'] },
};

function show(value) {
  if (value === undefined || value === null || value === '') return '∅';
  if (typeof value === 'object') return value.id || value.name || value.body || value.$type || t('(structure)');
  return String(value);
}

function details(kind, entry) {
  if (kind !== 'changed') return '';
  // bpmn-js-differ 3 hands jsondiffpatch's [old, new] to changed(model, property, newValue, oldValue),
  // so its `newValue` holds the left (older) value and `oldValue` the right one.
  return Object.entries(entry.attrs || {})
    .map(([attr, change]) => `${attr}: ${show(change.newValue)} → ${show(change.oldValue)}`).join('; ');
}

function focus(id, row) {
  for (const viewer of Object.values(viewers)) {
    const registry = viewer.get('elementRegistry');
    const canvas = viewer.get('canvas');
    registry.getAll().forEach((element) => canvas.removeMarker(element, 'diff-focus'));
    const element = registry.get(id);
    if (element) {
      viewer.get('selection').select(element);
      canvas.addMarker(element, 'diff-focus');
      if (canvas.zoom() < 0.8) canvas.zoom(0.8);
      canvas.scrollToElement(element, { top: 80, bottom: 80, left: 120, right: 120 });
    } else {
      viewer.get('selection').select(null);
    }
  }
  document.querySelectorAll('#diff-list tbody tr').forEach((r) => r.setAttribute('aria-selected', String(r === row)));
}

async function compare(left, right) {
  const [leftXml, rightXml] = await Promise.all([definitionXml(key, left), definitionXml(key, right)]);
  await viewers.left.importXML(leftXml);
  await viewers.right.importXML(rightXml);
  for (const viewer of Object.values(viewers)) viewer.get('canvas').zoom('fit-viewport', 'auto');
  document.getElementById('left-title').textContent = t('version {version}', { version: left });
  document.getElementById('right-title').textContent = t('version {version}', { version: right });

  const result = diff(viewers.left.getDefinitions(), viewers.right.getDefinitions());
  const entries = [
    ...Object.entries(result._added).map(([id, model]) => ({ kind: 'added', id, model })),
    ...Object.entries(result._removed).map(([id, model]) => ({ kind: 'removed', id, model })),
    ...Object.entries(result._changed).map(([id, change]) => ({ kind: 'changed', id, model: change.model, change })),
    ...Object.entries(result._layoutChanged).map(([id, model]) => ({ kind: 'layout', id, model })),
  ];
  const rows = entries.map((entry) => {
    const kind = KINDS[entry.kind];
    for (const side of kind.sides) {
      const viewer = viewers[side];
      if (viewer.get('elementRegistry').get(entry.id)) viewer.get('canvas').addMarker(entry.id, kind.marker);
    }
    const name = (entry.model && entry.model.name) || '';
    const type = (entry.model && entry.model.$type || '').replace(/^bpmn:/, '');
    const row = h('tr', { dataset: { elementId: entry.id, kind: entry.kind }, tabindex: '0' },
      h('td', { 'data-label': t('Change') }, h('span', { class: kind.marker }, kind.label())),
      h('td', { 'data-label': t('Element') },
        h('button', { type: 'button', class: 'link' }, name ? `${name}（${entry.id}）` : entry.id),
        h('span', { class: 'hint' }, ` ${type}`)),
      h('td', { 'data-label': t('Details') }, details(entry.kind, entry.change)));
    row.addEventListener('click', () => focus(entry.id, row));
    row.addEventListener('keydown', (event) => { if (event.key === 'Enter') focus(entry.id, row); });
    return row;
  });
  document.querySelector('#diff-list tbody').replaceChildren(...rows);
  document.getElementById('diff-count').textContent = String(rows.length);
  document.getElementById('no-diff').hidden = rows.length > 0;
  document.body.dataset.ready = 'true';
}

async function start() {
  const versions = await api(`definitions/${encodeURIComponent(key)}/versions`);
  const latest = versions.length ? versions[versions.length - 1] : null;
  document.getElementById('compare-title').textContent = `${t('Compare versions')} · ${latest ? latest.name : key}`;
  document.getElementById('compare-meta').textContent = key;
  const selects = ['left-version', 'right-version'].map((id) => document.getElementById(id));
  for (const select of selects) {
    select.replaceChildren(...versions.map((v) => h('option', { value: v.version },
      t('version {version}', { version: v.version }))));
  }
  const right = Number(params.right) || (latest ? latest.version : 1);
  const left = Number(params.left) || Math.max(1, right - 1);
  selects[0].value = String(left);
  selects[1].value = String(right);
  document.getElementById('compare-go').addEventListener('click', () => attempt(async () => {
    const [l, r] = selects.map((s) => s.value);
    window.history.replaceState(null, '', `/designer/${encodeURIComponent(key)}/compare?left=${l}&right=${r}`);
    await compare(Number(l), Number(r));
  }));
  await compare(left, right);
}

attempt(start);
