// Case attachments as the server takes them (api/cases/journal.py ALLOWED): the kinds, the size
// limit, the checks a browser can make before sending, and the upload itself.
import { api, t } from './page.js';

export const MAX_BYTES = 20 * 1024 * 1024;
export const KINDS = {
  image: ['.jpg', '.jpeg', '.png'],
  audio: ['.mp3', '.m4a', '.wav', '.amr'],
  pdf: ['.pdf'],
};
export const ALL_TYPES = Object.values(KINDS).flat();

/** 1.2 MB, 340 KB, 12 B. */
export function size(bytes) {
  if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} B`;
}

/** Why this file cannot be attached (null when it can): its type among `types`, its size. */
export function fileProblem(file, types = ALL_TYPES) {
  const dot = file.name.lastIndexOf('.');
  if (dot < 0 || !types.includes(file.name.slice(dot).toLowerCase())) {
    return t('This type of file is not accepted here: use {types}.', { types: types.map((x) => x.slice(1)).join('、') });
  }
  if (file.size > MAX_BYTES) return t('The file is {size}; attachments are limited to 20 MB.', { size: size(file.size) });
  return null;
}

/** POST it to the case's attachments; answers the stored attachment {id, sha256, filename, size, …}. */
export function uploadAttachment(caseId, file) {
  const form = new FormData();
  form.append('file', file, file.name);
  return api(`cases/${caseId}/attachments`, { method: 'POST', form });
}
