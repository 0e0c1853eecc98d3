// A form field of case attachments (photos, recordings, scans) for jsonform.js. Its schema is an
// array whose items carry `"format": "attachment"`; each value is {id, sha256, filename} of a file
// stored in the case's attachments (the server checks the reference on completion). `x-accept` lists
// the kinds a field takes ("image", "audio", "pdf"; all when absent). On phones, 拍照 and 录音 open
// the camera and the recorder (`capture`).
//
// With an `upload(file)` option the files go to the case at once; without one (the case does not
// exist yet, as on the register page) they wait in the form until `uploadPending(upload)`.
import { h, t } from './page.js';
import { ALL_TYPES, KINDS, fileProblem, size } from './files.js';

export function isAttachmentArray(schema) {
  return schema && schema.type === 'array' && schema.items && schema.items.format === 'attachment';
}

function acceptedTypes(schema) {
  const kinds = Array.isArray(schema['x-accept']) ? schema['x-accept'].filter((k) => KINDS[k]) : [];
  return kinds.length ? kinds.flatMap((k) => KINDS[k]) : ALL_TYPES;
}

/**
 * The control for one attachment field: `{node, inputs, get(), count(), uploadPending(upload)}`.
 * `showError(message|null)` puts a problem under the field.
 */
export function attachmentControl({ id, schema, value, readOnly, upload, describedBy, showError }) {
  const types = acceptedTypes(schema);
  const entries = (Array.isArray(value) ? value : []).filter((v) => v && v.id !== undefined)
    .map((ref) => ({ ref, state: 'stored' }));
  const list = h('ul', { class: 'jf-files', 'aria-live': 'polite' });
  const inputs = [];

  function render() {
    list.replaceChildren(...entries.map((entry) => h('li', { class: `jf-file jf-file-${entry.state}` },
      entry.ref ? h('a', { href: `/api/v1/attachments/${entry.ref.id}`, download: entry.ref.filename }, entry.ref.filename)
        : h('span', {}, entry.file.name),
      h('span', { class: 'hint' }, entry.file ? ` ${size(entry.file.size)} · ` : ' ',
        { stored: t('Attached'), pending: t('Uploaded when you save'), uploading: t('Uploading…') }[entry.state]),
      readOnly ? null : h('button', { type: 'button', class: 'link jf-remove', onclick: () => remove(entry) },
        t('Remove from the form')))));
    if (!entries.length) list.append(h('li', { class: 'hint' }, readOnly ? t('No attachment.') : t('No file yet.')));
  }

  function remove(entry) {
    entries.splice(entries.indexOf(entry), 1);
    render();
  }

  async function add(files) {
    showError(null);
    const problems = [];
    for (const file of files) {
      const problem = fileProblem(file, types);
      if (problem) { problems.push(`${file.name}：${problem}`); continue; }
      if (schema.maxItems && entries.length >= schema.maxItems) {
        problems.push(t('At most {n} item(s).', { n: schema.maxItems }));
        break;
      }
      const entry = { file, state: upload ? 'uploading' : 'pending' };
      entries.push(entry);
      render();
      if (upload) {
        try {
          await send(entry, upload);
        } catch (error) {
          entries.splice(entries.indexOf(entry), 1);
          problems.push(`${file.name}：${error.message}`);
        }
        render();
      }
    }
    if (problems.length) showError(problems.join('；'));
  }

  async function send(entry, uploader) {
    entry.state = 'uploading';
    render();
    const stored = await uploader(entry.file);
    entry.ref = { id: stored.id, sha256: stored.sha256, filename: stored.filename };
    entry.state = 'stored';
  }

  function picker(label, attrs) {
    const input = h('input', { type: 'file', class: 'jf-file-input', id: `${id}-${attrs.suffix}`, disabled: readOnly,
      accept: attrs.accept, capture: attrs.capture, multiple: attrs.capture ? null : true,
      'aria-describedby': describedBy });
    input.addEventListener('change', () => {
      const files = [...input.files];
      input.value = '';
      add(files);
    });
    inputs.push(input);
    return h('span', { class: 'jf-picker' }, input, h('label', { for: input.id, class: 'button' }, label));
  }

  const has = (kind) => KINDS[kind].some((x) => types.includes(x));
  const pickers = readOnly ? null : h('div', { class: 'jf-pickers' },
    has('image') ? picker(t('Take a photo'), { suffix: 'camera', accept: 'image/*', capture: 'environment' }) : null,
    has('audio') ? picker(t('Record'), { suffix: 'audio', accept: 'audio/*', capture: 'user' }) : null,
    picker(t('Choose files'), { suffix: 'files', accept: types.join(',') }),
    h('span', { class: 'hint' }, t('{types}, up to 20 MB each', { types: types.map((x) => x.slice(1)).join('、') })));
  render();

  return {
    node: h('div', { class: 'jf-attachments', id, role: 'group' }, list, pickers),
    inputs,
    get: () => entries.filter((e) => e.ref).map((e) => e.ref),
    count: () => entries.length,
    busy: () => entries.some((e) => e.state === 'uploading'),
    async uploadPending(uploader) {
      for (const entry of entries.filter((e) => e.state === 'pending')) await send(entry, uploader);
      render();
    },
  };
}
