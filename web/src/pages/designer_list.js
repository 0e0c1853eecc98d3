// Every process key with its versions (who deployed it, when, its hash), links to the modeler and
// to compare versions; the deployed forms with links to the form editor.
import '../designer/designer.css';
import { api, attempt, h, t, when } from '../lib/page.js';

const enc = encodeURIComponent;
const modelerUrl = (key, version) => `/designer/${enc(key)}?version=${version}`;
const compareUrl = (key, left, right) => `/designer/${enc(key)}/compare?left=${left}&right=${right}`;

/** "system" is the deploy command (`cunliao deploy`), not a person. */
const deployer = (who) => (who === 'system' ? t('The system') : who);

function cell(label, ...content) {
  return h('td', { 'data-label': label }, ...content);
}

function versionsTable(key, versions) {
  const left = h('select', { 'aria-label': t('Left version') },
    versions.map((v) => h('option', { value: v.version }, t('version {version}', { version: v.version }))));
  const right = left.cloneNode(true);
  right.setAttribute('aria-label', t('Right version'));
  if (versions.length > 1) left.value = String(versions[versions.length - 2].version);
  right.value = String(versions[versions.length - 1].version);
  const rows = [...versions].reverse().map((v) => h('tr', { dataset: { version: v.version } },
    cell(t('Version'), t('version {version}', { version: v.version })),
    cell(t('Deployed by'), deployer(v.deployed_by)),
    cell(t('Deployed at'), when(v.deployed_at)),
    cell('SHA-256', h('code', { title: v.sha256 }, v.sha256.slice(0, 12))),
    cell(t('Actions'),
      h('a', { href: modelerUrl(key, v.version) }, t('Open in modeler')), ' ',
      v.version > 1 ? h('a', { href: compareUrl(key, v.version - 1, v.version) }, t('Compare with previous')) : null)));
  return h('div', {},
    h('table', { class: 'responsive' },
      h('thead', {}, h('tr', {}, [t('Version'), t('Deployed by'), t('Deployed at'), 'SHA-256', t('Actions')].map((x) => h('th', {}, x)))),
      h('tbody', {}, rows)),
    versions.length > 1 ? h('div', { class: 'toolbar', style: 'margin-top:.5rem' },
      h('span', {}, t('Compare')), left, h('span', {}, '↔'), right,
      h('button', { type: 'button', onclick: () => window.location.assign(compareUrl(key, left.value, right.value)) },
        t('Compare'))) : null);
}

async function showDefinitions(definitions) {
  const body = document.querySelector('#definitions tbody');
  body.replaceChildren(...definitions.flatMap((d) => {
    const detailRow = h('tr', { class: 'versions-row', hidden: true }, h('td', { colspan: 5 }));
    const toggle = h('button', { type: 'button', class: 'link', 'aria-expanded': 'false',
      onclick: () => attempt(async () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        detailRow.hidden = !open;
        if (open && !detailRow.dataset.loaded) {
          const versions = await api(`definitions/${enc(d.key)}/versions`);
          detailRow.firstChild.replaceChildren(versionsTable(d.key, versions));
          detailRow.dataset.loaded = 'true';
        }
      }) }, t('Versions'));
    return [h('tr', { dataset: { key: d.key } },
      cell(t('Process'), h('a', { href: modelerUrl(d.key, d.version) }, d.name || d.key)),
      cell(t('Key'), h('code', {}, d.key)),
      cell(t('Latest version'), String(d.version)),
      cell(t('Deployed'), `${deployer(d.deployed_by)} · ${when(d.deployed_at)}`),
      cell(t('Actions'), h('span', { class: 'actions' },
        h('a', { href: modelerUrl(d.key, d.version) }, t('Open in modeler')), ' ',
        d.version > 1 ? h('a', { href: compareUrl(d.key, d.version - 1, d.version) }, t('Compare with previous')) : null,
        ' ', toggle))), detailRow];
  }));
}

async function showForms(definitions) {
  const forms = await api('definitions/forms');
  const names = Object.fromEntries(definitions.map((d) => [d.key, d.name || d.key]));
  document.querySelector('#forms tbody').replaceChildren(...forms.map((f) => h('tr', { dataset: { form: f.key } },
    cell(t('Form'), f.title || f.key),
    cell(t('Key'), h('code', {}, f.key)),
    cell(t('Used by'), f.used_by.map((key) => names[key] || key).join('、')),
    cell(t('Actions'), h('a', { href: `/designer/forms/${enc(f.key)}` }, t('Edit form'))))));
}

attempt(async () => {
  const definitions = await api('definitions');
  await Promise.all([showDefinitions(definitions), showForms(definitions)]);
});
