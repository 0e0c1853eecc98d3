// The field list of the visual form editor: one row per field (drag it, or move it with ↑ ↓), its
// properties opening under it, and "add a field" of any kind; sections and repeated groups hold
// their own lists.
import { h, t } from '../lib/page.js';
import { inspector } from './inspector.js';
import { KINDS, kindLabel, kindOf } from './kinds.js';
import { addField, isRequired, moveField, removeField, sectionAt } from './model.js';

/**
 * Draws the list of the form `schema()` into `container`; `changed()` is called after every edit
 * (the page redraws the preview and the JSON). The open field is kept across redraws.
 */
export function fieldList(container, schema, changed) {
  let open = null; // 'path/key' of the field whose properties show

  function redraw(keepOpen = open) {
    open = keepOpen;
    container.replaceChildren(section([]));
  }

  function notify(kind, key, path) {
    if (kind === 'full') redraw(key !== undefined ? [...path, key].join('/') : open);
    changed();
  }

  function row(path, key, index, count) {
    const field = sectionAt(schema(), path).properties[key];
    const id = [...path, key].join('/');
    const isOpen = open === id;
    const label = h('span', { class: 'fe-row-title' }, field.title || key);
    const toggle = h('button', { type: 'button', class: 'fe-row-main', 'aria-expanded': String(isOpen),
      onclick: () => redraw(isOpen ? null : id) },
    label, ' ', h('code', { class: 'fe-row-key' }, key), ' ', h('span', { class: 'badge' }, kindLabel(kindOf(field))),
    isRequired(schema(), path, key) ? h('span', { class: 'jf-required', title: t('Required') }, ' *') : null);
    const move = (to) => { moveField(schema(), path, key, to); notify('full', key, path); };
    const node = h('li', { class: `fe-row${isOpen ? ' open' : ''}`, draggable: 'true', dataset: { key, path: path.join('/') } },
      h('div', { class: 'fe-row-head' },
        h('span', { class: 'fe-grip', 'aria-hidden': 'true', title: t('Drag to move') }, '⠿'), toggle,
        h('span', { class: 'fe-row-tools' },
          h('button', { type: 'button', class: 'link', disabled: index === 0, onclick: () => move(index - 1),
            'aria-label': t('Move “{name}” up', { name: field.title || key }) }, '↑'),
          h('button', { type: 'button', class: 'link', disabled: index === count - 1, onclick: () => move(index + 1),
            'aria-label': t('Move “{name}” down', { name: field.title || key }) }, '↓'),
          h('button', { type: 'button', class: 'link jf-remove', onclick: () => {
            if (!window.confirm(t('Delete the field “{name}”?', { name: field.title || key }))) return;
            removeField(schema(), path, key);
            notify('full', undefined, path);
          } }, t('Delete')))),
      isOpen ? inspector({
        schema: schema(), path, key, section,
        changed: (kind, newKey = key) => {
          if (kind === 'light') label.textContent = sectionAt(schema(), path).properties[newKey].title || newKey;
          notify(kind, newKey, path);
        },
      }) : null);
    // drag and drop within the same list
    node.addEventListener('dragstart', (event) => {
      event.stopPropagation();
      event.dataTransfer.setData('text/plain', JSON.stringify({ path, key }));
      event.dataTransfer.effectAllowed = 'move';
      node.classList.add('dragging');
    });
    node.addEventListener('dragend', () => node.classList.remove('dragging'));
    node.addEventListener('dragover', (event) => { event.preventDefault(); node.classList.add('drop-here'); });
    node.addEventListener('dragleave', () => node.classList.remove('drop-here'));
    node.addEventListener('drop', (event) => {
      event.preventDefault();
      event.stopPropagation();
      node.classList.remove('drop-here');
      let moved;
      try { moved = JSON.parse(event.dataTransfer.getData('text/plain')); } catch (ignored) { return; }
      if (!moved || moved.path.join('/') !== path.join('/') || moved.key === key) return;
      moveField(schema(), path, moved.key, index);
      notify('full', moved.key, path);
    });
    return node;
  }

  function section(path) {
    const keys = Object.keys(sectionAt(schema(), path).properties);
    const kind = h('select', { 'aria-label': t('Kind of the new field') },
      ...Object.entries(KINDS).map(([value, [text]]) => h('option', { value }, text)));
    const add = h('button', { type: 'button', onclick: () => {
      const key = addField(schema(), path, kind.value, t('New field'));
      notify('full', key, path);
      const title = container.querySelector('.fe-row.open .fe-title');
      if (title) { title.focus(); title.select(); }
    } }, t('Add a field'));
    return h('div', { class: 'fe-section', dataset: { path: path.join('/') } },
      h('ol', { class: 'fe-rows' }, ...keys.map((key, index) => row(path, key, index, keys.length))),
      keys.length ? null : h('p', { class: 'hint' }, t('No field yet.')),
      h('div', { class: 'toolbar fe-add' }, kind, add));
  }

  redraw();
  return { redraw };
}
