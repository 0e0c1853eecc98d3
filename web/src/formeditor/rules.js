// The form's conditions in the visual editor: "when <field> is <value>, <fields> are required" — the
// if/then rules of lib/formrules.js, which the browser and the server both enforce.
import { h, t } from '../lib/page.js';
import { readRules } from '../lib/formrules.js';
import { testValues } from './kinds.js';
import { replaceRules } from './model.js';

let counter = 0;

export function rulesEditor(container, schema, changed) {
  let pending = null; // a rule just added, stored once it names a required field

  function save(rules) {
    pending = rules.find((rule) => !rule.required.length) || null;
    replaceRules(schema(), rules);
    changed();
  }

  function draw() {
    const form = schema();
    const properties = form.properties || {};
    const testable = Object.keys(properties).filter((key) => testValues(properties[key]));
    const rules = [...readRules(form), ...(pending && testable.includes(pending.field) ? [pending] : [])];
    const name = (key) => (properties[key] && properties[key].title) || key;
    const rows = rules.map((rule, index) => {
      const values = testValues(properties[rule.field] || {}) || [];
      const field = h('select', { 'aria-label': t('Rule {n}: when the field', { n: index + 1 }) },
        ...testable.map((key) => h('option', { value: key }, name(key))));
      field.value = rule.field;
      field.addEventListener('change', () => {
        const first = (testValues(properties[field.value]) || [[true]])[0][0];
        rules[index] = { ...rule, field: field.value, value: first };
        save(rules);
        draw();
      });
      const value = h('select', { 'aria-label': t('Rule {n}: has the value', { n: index + 1 }) },
        ...values.map(([v, label], i) => h('option', { value: String(i) }, label)));
      value.value = String(Math.max(0, values.findIndex(([v]) => v === rule.value)));
      value.addEventListener('change', () => { rules[index] = { ...rule, value: values[Number(value.value)][0] }; save(rules); });
      const targets = Object.keys(properties).filter((key) => key !== rule.field).map((key) => {
        counter += 1;
        const box = h('input', { type: 'checkbox', id: `fe-rule-${counter}`, value: key });
        box.checked = rule.required.includes(key);
        box.addEventListener('change', () => {
          const chosen = new Set(rules[index].required);
          if (box.checked) chosen.add(key); else chosen.delete(key);
          rules[index] = { ...rules[index], required: Object.keys(properties).filter((k) => chosen.has(k)) };
          save(rules);
        });
        return h('span', { class: 'jf-option' }, box, h('label', { for: box.id }, name(key)));
      });
      return h('li', { class: 'fe-rule', dataset: { field: rule.field } },
        h('span', {}, t('When')), field, h('span', {}, t('is')), value, h('span', {}, t(', these are required:')),
        h('div', { class: 'jf-options', role: 'group', 'aria-label': t('Rule {n}: required fields', { n: index + 1 }) }, targets),
        h('button', { type: 'button', class: 'link jf-remove', onclick: () => { rules.splice(index, 1); save(rules); draw(); } },
          t('Delete the rule')));
    });
    const add = h('button', { type: 'button', disabled: !testable.length, onclick: () => {
      const key = testable[0];
      rules.push({ field: key, value: testValues(properties[key])[0][0], required: [] });
      save(rules);
      draw();
    } }, t('Add a rule'));
    container.replaceChildren(
      rows.length ? h('ol', { class: 'fe-rules' }, rows) : h('p', { class: 'hint' }, t('No rule: each field is required or not, whatever the answers.')),
      h('div', { class: 'toolbar' }, add,
        testable.length ? null : h('span', { class: 'hint' }, t('A rule tests a yes/no or single-choice field; add one first.'))));
  }

  draw();
  return { redraw: draw };
}
