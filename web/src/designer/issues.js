// The server's modelling checks (engine/definitions.py, engine/sandbox.py) answer in English; a
// designer reads them in the UI's language. Each known message shape has its translation; the parts
// quoted from the model (names, keys, Python's own error text) are kept as they are.
import { t } from '../lib/page.js';

const WHAT = () => ({
  script: t('Script'), 'pre-script': t('Pre-script'), 'post-script': t('Post-script'), timer: t('Timer'),
  condition: t('Condition'), 'multi-instance cardinality': t('Multi-instance count'),
  'completion condition': t('Completion condition'), expression: t('Expression'),
  'message payload': t('Message payload'), 'decision cell': t('Decision table cell'),
});

// [pattern, (match) => text]; the first that matches wins
const SHAPES = [
  [/^user task '(.+)' is not in a lane; put it in the lane of the role that does it$/,
    (m) => t('User task “{name}” is in no lane: put it in the lane of the role that does it', { name: m[1] })],
  [/^user task '(.+)' is in lane '(.+)', which names no known role$/,
    (m) => t('User task “{name}” is in lane “{lane}”, which is not a known role', { name: m[1], lane: m[2] })],
  [/^dueIn '(.+)' is not an ISO-8601 duration such as P3D or PT2H$/,
    (m) => t('Due in “{value}” is not an ISO-8601 duration such as P3D or PT2H', { value: m[1] })],
  [/^slaKey '(.+)' is not in the SLA table$/, (m) => t('Time limit “{key}” is not in the SLA table', { key: m[1] })],
  [/^form '(.+)' is not in the bundle nor deployed$/,
    (m) => t('Form “{key}” is neither in this deployment nor deployed before', { key: m[1] })],
  [/^called process '(.+)' is neither in the bundle nor deployed$/,
    (m) => t('Called process “{key}” is neither in this deployment nor deployed before', { key: m[1] })],
  [/^decision '(.+)' is neither in the bundle nor deployed$/,
    (m) => t('Decision “{key}” is neither in this deployment nor deployed before', { key: m[1] })],
  [/^form is not valid JSON: (.*)$/s, (m) => t('The form is not valid JSON: {detail}', { detail: m[1] })],
  [/^form is not a valid JSON Schema: (.*)$/s, (m) => t('The form is not a valid JSON Schema: {detail}', { detail: m[1] })],
  [/^a form schema must be an object schema/, () => t('A form schema must be an object schema ("type": "object").')],
  [/^unsupported file type/, () => t('Unsupported file type: use .bpmn, .dmn or .schema.json')],
  [/^the bundle has no \.bpmn or \.dmn file$/, () => t('The deployment has no .bpmn or .dmn file')],
  [/^not a BPMN 2\.0 file/, () => t('Not a BPMN 2.0 file: the root element must be bpmn:definitions')],
  [/^BPMN schema: (.*)$/s, (m) => t('BPMN structure: {detail}', { detail: m[1] })],
  [/^cannot read the model: (.*)$/s, (m) => t('The model cannot be read: {detail}', { detail: m[1] })],
  [/^process (\S+): (.*)$/s, (m) => t('Process {key}: {detail}', { key: m[1], detail: explainIssue(m[2]) })],
  [/^(script|pre-script|post-script|timer|condition|multi-instance cardinality|completion condition|expression|message payload|decision cell): (.*)$/s,
    (m) => `${WHAT()[m[1]]}：${detail(m[2])}`],
];

const DETAILS = [
  [/^sla_due\('(.+)'\) names no rule of the SLA table$/, (m) => t('sla_due(“{key}”) names no rule of the SLA table', { key: m[1] })],
  [/^syntax error on line (\d+): (.*)$/s, (m) => t('syntax error on line {line}: {detail}', { line: m[1], detail: m[2] })],
  [/^syntax error(?: in expression)?: (.*)$/s, (m) => t('syntax error: {detail}', { detail: m[1] })],
  [/^name "(.+)" is not allowed/, (m) => t('the name “{name}” is not allowed (names starting with "_" are private)', { name: m[1] })],
  [/^"(.+)" is not available in the sandbox$/, (m) => t('“{name}” is not available to scripts', { name: m[1] })],
  [/^(\w+) is not allowed in expressions$/, (m) => t('{what} is not allowed in expressions', { what: m[1] })],
  [/^'(.+)' is not an ISO-8601 date, duration or cycle$/, (m) => t('“{value}” is not an ISO-8601 date, duration or cycle', { value: m[1] })],
  [/^a timer must give an ISO-8601/, () => t('a timer must give an ISO-8601 date, duration or cycle as a string, e.g. "P3D"')],
];

function detail(text) {
  for (const [pattern, say] of DETAILS) {
    const match = text.match(pattern);
    if (match) return say(match);
  }
  return text;
}

/** A validation issue's message in the UI's language (unknown shapes as they came). */
export function explainIssue(message) {
  const text = String(message || '');
  for (const [pattern, say] of SHAPES) {
    const match = text.match(pattern);
    if (match) return say(match);
  }
  return detail(text);
}
