// The one shape of conditional rule our forms use, read and written in one place (the renderer
// enforces it, the form editor edits it, the server's jsonschema checks it):
//
//   {"if": {"properties": {"accepted": {"const": false}}, "required": ["accepted"]},
//    "then": {"required": ["reject_reason"]}}
//
// "when field `accepted` is 否, `reject_reason` is required". A form keeps its rules at the top level
// (`if`/`then`) or, when there are several, in `allOf`. Other if/then shapes are left alone.

/** The rules of a form: [{field, value, required: [field…]}] (value: the field's const). */
export function readRules(schema) {
  const candidates = [];
  if (schema && schema.if) candidates.push(schema);
  for (const part of (schema && Array.isArray(schema.allOf) ? schema.allOf : [])) if (part && part.if) candidates.push(part);
  return candidates.map(asRule).filter(Boolean);
}

function asRule(part) {
  const condition = part.if || {};
  const fields = Object.keys(condition.properties || {});
  const then = part.then || {};
  if (fields.length !== 1 || !Array.isArray(then.required) || part.else) return null;
  const field = fields[0];
  const test = condition.properties[field];
  if (!test || !('const' in test) || Object.keys(test).length !== 1) return null;
  return { field, value: test.const, required: [...then.required] };
}

function asSchema(rule) {
  return {
    if: { properties: { [rule.field]: { const: rule.value } }, required: [rule.field] },
    then: { required: [...rule.required] },
  };
}

/** A copy of the schema with these rules instead of its own (other if/then shapes are kept). */
export function writeRules(schema, rules) {
  const out = { ...schema };
  const others = [];
  if (out.if && !asRule(out)) others.push({ if: out.if, then: out.then, else: out.else });
  delete out.if; delete out.then; delete out.else;
  for (const part of Array.isArray(out.allOf) ? out.allOf : []) {
    if (!(part && part.if && asRule(part))) others.push(part);
  }
  delete out.allOf;
  const parts = [...rules.filter((r) => r.field && r.required.length).map(asSchema), ...others]
    .map((part) => Object.fromEntries(Object.entries(part).filter(([, v]) => v !== undefined)));
  if (parts.length === 1 && parts[0].if && !out.allOf) Object.assign(out, parts[0]);
  else if (parts.length) out.allOf = parts;
  return out;
}

/** The fields the rules make required for these values. */
export function requiredBy(rules, values) {
  const out = new Set();
  for (const rule of rules) {
    if (values[rule.field] !== undefined && values[rule.field] === rule.value) rule.required.forEach((f) => out.add(f));
  }
  return out;
}
