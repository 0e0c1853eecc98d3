// Two versions of a process side by side, their differences (designer/changes.js: names, roles, our
// properties, scripts, conditions, timers; renames as renames) coloured on both diagrams and listed
// with before → after; picking an entry selects the element in both.
import NavigatedViewer from 'bpmn-js/lib/NavigatedViewer';
import 'bpmn-js/dist/assets/diagram-js.css';
import 'bpmn-js/dist/assets/bpmn-js.css';
import 'bpmn-js/dist/assets/bpmn-font/css/bpmn.css';
import '../designer/designer.css';
import { api, attempt, h, params, t } from '../lib/page.js';
import { definitionXml } from '../lib/diagram.js';
import { moddleExtensions } from '../designer/modeler.js';
import { TranslateModule } from '../designer/translate.js';
import { compareRegistries, typeName } from '../designer/changes.js';
import { loadCatalog } from '../designer/catalog.js';

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
  renamed: { label: () => t('Renamed'), marker: 'diff-changed', sides: ['left', 'right'] },
  moved: { label: () => t('Moved or resized'), marker: 'diff-layout', sides: ['left', 'right'] },
};

const shorten = (value) => (value.length > 80 ? `${value.slice(0, 77)}…` : value);

function details(entry) {
  return h('ul', { class: 'diff-details' }, entry.changes.map((change) => h('li', { title: `${change.before} → ${change.after}` },
    h('strong', {}, `${change.label}：`), shorten(change.before || '∅'), ' → ', shorten(change.after || '∅'))));
}

function focus(ids, row) {
  for (const [side, viewer] of Object.entries(viewers)) {
    const registry = viewer.get('elementRegistry');
    const canvas = viewer.get('canvas');
    registry.getAll().forEach((element) => canvas.removeMarker(element, 'diff-focus'));
    const element = registry.get(ids[side]);
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

  const entries = compareRegistries(viewers.left.get('elementRegistry'), viewers.right.get('elementRegistry'));
  const rows = entries.map((entry) => {
    const kind = KINDS[entry.kind];
    const ids = { left: entry.leftId || entry.id, right: entry.id };
    for (const side of kind.sides) {
      const viewer = viewers[side];
      if (viewer.get('elementRegistry').get(ids[side])) viewer.get('canvas').addMarker(ids[side], kind.marker);
    }
    const row = h('tr', { dataset: { elementId: entry.id, kind: entry.kind }, tabindex: '0' },
      h('td', { 'data-label': t('Change') }, h('span', { class: kind.marker }, kind.label())),
      h('td', { 'data-label': t('Element') },
        h('button', { type: 'button', class: 'link' }, entry.name ? `${entry.name}（${entry.id}）` : entry.id),
        h('span', { class: 'hint' }, ` ${typeName(entry.type)}`)),
      h('td', { 'data-label': t('Details') }, details(entry)));
    row.addEventListener('click', () => focus(ids, row));
    row.addEventListener('keydown', (event) => { if (event.key === 'Enter') focus(ids, row); });
    return row;
  });
  document.querySelector('#diff-list tbody').replaceChildren(...rows);
  document.getElementById('diff-count').textContent = String(rows.length);
  document.getElementById('no-diff').hidden = rows.length > 0;
  document.body.dataset.ready = 'true';
}

async function start() {
  const [versions] = await Promise.all([api(`definitions/${encodeURIComponent(key)}/versions`), loadCatalog()]);
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
