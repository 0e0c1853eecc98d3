// The properties of one field in the visual form editor: label, code, kind, help, required, and what
// its kind has (lengths, limits, options — typed, or named from the organisation —, file kinds).
import { h, t } from '../lib/page.js';
import { KINDS, changeKind, kindOf, optionsOf, sourceOf, withOptions, withSource } from './kinds.js';
import { isRequired, renameField, sectionAt, setRequired } from './model.js';

let counter = 0;

/** A labelled input; `read`/`write` move its value from and to the field. */
function entry(label, control, hint) {
  counter += 1;
  const id = `fe-${counter}`;
  control.id = id;
  return h('div', { class: 'fe-entry' }, h('label', { for: id }, label), control, hint ? h('p', { class: 'hint' }, hint) : null);
}

function numberInput(value, onValue) {
  const input = h('input', { type: 'number', inputmode: 'numeric', step: 'any' });
  input.value = value ?? '';
  input.addEventListener('change', () => onValue(input.value === '' ? undefined : Number(input.value)));
  return input;
}

function setOrDrop(target, key, value) {
  if (value === undefined || value === '' || (typeof value === 'number' && Number.isNaN(value))) delete target[key];
  else target[key] = value;
}

/** Options as editable rows: value and label, add, remove, reorder; or all from the organisation. */
function optionsEditor(options, onOptions) {
  const rows = options.map(([value, label]) => ({ value: String(value), label, typed: typeof value }));
  const list = h('ol', { class: 'fe-options' });
  const error = h('p', { class: 'field-error', hidden: true });
  const save = () => {
    const values = rows.map((r) => r.value.trim());
    const problem = values.some((v) => !v) ? t('Every option needs a value.')
      : new Set(values).size !== values.length ? t('Two options have the same value.')
        : !rows.length ? t('Give at least one option.') : null;
    error.textContent = problem || '';
    error.hidden = !problem;
    if (!problem) {
      onOptions(rows.map((r) => [r.typed === 'number' && !Number.isNaN(Number(r.value)) ? Number(r.value) : r.value.trim(),
        r.label.trim() || r.value.trim()]));
    }
  };
  const draw = () => list.replaceChildren(...rows.map((row, index) => {
    const value = h('input', { type: 'text', class: 'fe-option-value', 'aria-label': t('Option {n} value', { n: index + 1 }) });
    const label = h('input', { type: 'text', class: 'fe-option-label', 'aria-label': t('Option {n} label', { n: index + 1 }) });
    value.value = row.value;
    label.value = row.label;
    value.addEventListener('change', () => { row.value = value.value; save(); });
    label.addEventListener('change', () => { row.label = label.value; save(); });
    const move = (by) => { rows.splice(index + by, 0, rows.splice(index, 1)[0]); draw(); save(); };
    return h('li', {}, label, value,
      h('button', { type: 'button', class: 'link', disabled: index === 0, onclick: () => move(-1), 'aria-label': t('Move up') }, '↑'),
      h('button', { type: 'button', class: 'link', disabled: index === rows.length - 1, onclick: () => move(1), 'aria-label': t('Move down') }, '↓'),
      h('button', { type: 'button', class: 'link jf-remove', onclick: () => { rows.splice(index, 1); draw(); save(); } }, t('Remove')));
  }));
  draw();
  return h('div', { class: 'fe-entry' }, h('span', { class: 'fe-label' }, t('Options (label, value)')), list, error,
    h('div', { class: 'toolbar' }, h('button', { type: 'button', onclick: () => {
      rows.push({ value: `option_${rows.length + 1}`, label: '', typed: 'string' });
      draw();
      list.lastElementChild.querySelector('input').focus();
    } }, t('Add an option'))));
}

/** Where the options come from: typed here, or the organisation's units, departments or the
 * category catalogue — resolved for each task by the server, never copied into the form. */
function sourcePicker(current, onSource) {
  const select = h('select', { class: 'fe-source' },
    ...[['', t('Typed here')], ['town', t('Towns')], ['village', t('Villages')], ['grid', t('Grids')],
      ['department', t('Departments')], ['category', t('Dispute categories')]]
      .map(([value, text]) => h('option', { value }, text)));
  select.value = current;
  select.addEventListener('change', () => onSource(select.value));
  return entry(t('Options from'), select, t('Units, departments and categories come from the organisation for each case.'));
}

/**
 * The editor of field `key` in the section at `path`. `changed('light')` after an edit that leaves
 * the list as it is, `changed('full')` after one that changes it; `section(path)` draws a nested list.
 */
export function inspector({ schema, path, key, changed, section }) {
  const field = () => sectionAt(schema, path).properties[key];
  const f = field();
  const kind = kindOf(f);
  const parts = [];

  const title = h('input', { type: 'text', class: 'fe-title' });
  title.value = f.title || '';
  title.addEventListener('input', () => { setOrDrop(field(), 'title', title.value.trim()); changed('light'); });
  parts.push(entry(t('Label'), title));

  const code = h('input', { type: 'text', class: 'fe-key', spellcheck: 'false', autocapitalize: 'off' });
  code.value = key;
  const codeError = h('p', { class: 'field-error', hidden: true });
  code.addEventListener('change', () => {
    const problem = renameField(schema, path, key, code.value.trim());
    codeError.textContent = { pattern: t('A code is lower-case letters, digits and _, starting with a letter.'),
      taken: t('Another field already has this code.') }[problem] || '';
    codeError.hidden = !problem;
    if (!problem) changed('full', code.value.trim());
  });
  parts.push(entry(t('Field code'), code, t('Scripts and gateway conditions read the data by this code: rename only a field no process uses yet.')), codeError);

  const kinds = h('select', { class: 'fe-kind' }, ...Object.entries(KINDS).map(([value, [text]]) => h('option', { value }, text)));
  kinds.value = kind;
  kinds.addEventListener('change', () => {
    sectionAt(schema, path).properties[key] = changeKind(field(), kinds.value);
    changed('full', key);
  });
  parts.push(entry(t('Kind'), kinds));

  const help = h('textarea', { rows: 2 });
  help.value = f.description || '';
  help.addEventListener('input', () => { setOrDrop(field(), 'description', help.value.trim()); changed('light'); });
  parts.push(entry(t('Help text'), help));

  if (kind !== 'object') {
    const required = h('input', { type: 'checkbox', class: 'fe-required' });
    required.checked = isRequired(schema, path, key);
    required.addEventListener('change', () => { setRequired(schema, path, key, required.checked); changed('full', key); });
    parts.push(h('div', { class: 'fe-entry fe-check' }, required,
      h('label', { for: (required.id = `fe-${++counter}`) }, ['multi', 'list', 'attachments', 'group'].includes(kind)
        ? t('Required: at least one') : t('Required'))));
  }
  const limit = (label, name, target = field) => parts.push(entry(label, numberInput(target()[name],
    (value) => { setOrDrop(target(), name, value); changed('light'); })));
  if (kind === 'text' || kind === 'textarea') {
    limit(t('At least (characters)'), 'minLength');
    limit(t('At most (characters)'), 'maxLength');
    if (kind === 'text') {
      const format = h('select', {}, ...[['', t('Plain text')], ['email', t('E-mail address')], ['uri', t('Web address')]]
        .map(([value, text]) => h('option', { value }, text)));
      format.value = f.format || '';
      format.addEventListener('change', () => { setOrDrop(field(), 'format', format.value); changed('light'); });
      parts.push(entry(t('Format'), format));
    }
  }
  if (kind === 'integer' || kind === 'number') {
    limit(t('Smallest'), 'minimum');
    limit(t('Largest'), 'maximum');
  }
  if (kind === 'choice' || kind === 'multi') {
    const target = kind === 'choice' ? f : f.items;
    const write = (value) => {
      if (kind === 'choice') sectionAt(schema, path).properties[key] = value;
      else field().items = value;
    };
    const read = () => (kind === 'choice' ? field() : field().items);
    parts.push(sourcePicker(sourceOf(target), (name) => {
      write(name ? withSource(read(), name) : withOptions(read(), [['a', t('Option A')], ['b', t('Option B')]]));
      changed('full', key);
    }));
    if (!sourceOf(target)) {
      parts.push(optionsEditor(optionsOf(target) || [], (options) => { write(withOptions(read(), options)); changed('light'); }));
    }
  }
  if (kind === 'attachments') {
    const accepted = new Set(f['x-accept'] || ['image', 'audio', 'pdf']);
    parts.push(h('fieldset', { class: 'fe-entry fe-accept' }, h('legend', {}, t('Accepted files')),
      ...[['image', t('Photos (jpg, png)')], ['audio', t('Recordings (mp3, m4a, wav, amr)')], ['pdf', t('PDF scans')]]
        .map(([value, text]) => {
          const box = h('input', { type: 'checkbox', id: `fe-${++counter}`, value });
          box.checked = accepted.has(value);
          box.addEventListener('change', () => {
            if (box.checked) accepted.add(value); else accepted.delete(value);
            const chosen = ['image', 'audio', 'pdf'].filter((k) => accepted.has(k));
            setOrDrop(field(), 'x-accept', chosen.length && chosen.length < 3 ? chosen : undefined);
            changed('light');
          });
          return h('span', { class: 'jf-option' }, box, h('label', { for: box.id }, text));
        })));
  }
  if (['multi', 'list', 'attachments', 'group'].includes(kind)) limit(t('At most (items)'), 'maxItems');
  if (kind === 'group' || kind === 'object') {
    parts.push(h('div', { class: 'fe-entry' }, h('span', { class: 'fe-label' },
      kind === 'group' ? t('Fields of each row') : t('Fields of the section')), section([...path, key])));
  }
  return h('div', { class: 'fe-inspector' }, ...parts);
}
