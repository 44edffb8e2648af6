/**
 * Values that become part of a file name or path (a compatibility choice, the package version,
 * an installer name, an artifact's `dest`, a file target's name). Each is checked where it is
 * read, so that no value can name a place outside the playbook's own folders or be taken for an
 * option by a tool it is passed to.
 */

/** Why `value` cannot be one file name (a compatibility choice, a version); undefined when it can. */
export function badSingleName(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (value.includes('\0')) return 'contains a NUL character';
  if (value.includes('/') || value.includes('\\')) return 'contains "/" or "\\"; it becomes one file name, not a path';
  if (value === '.' || value === '..') return `is "${value}", which names a folder, not a file`;
  if (value.startsWith('-')) return 'starts with "-", which tools would take for an option';
  if (/[\n\r]/.test(value)) return 'contains a line break';
  return undefined;
}

/** Why `value` cannot be a path relative to the package folder; undefined when it can. */
export function badRelativePath(value: string): string | undefined {
  if (value.includes('\0')) return 'contains a NUL character';
  if (value.startsWith('/')) return 'is an absolute path; it must be relative to the package folder';
  if (value.includes('\\')) return 'contains "\\"; use "/" between folders';
  if (value.split('/').includes('..')) return 'climbs out with ".."; it must stay inside the package folder';
  if (value.startsWith('-')) return 'starts with "-", which tools would take for an option';
  return undefined;
}

/** A value as it can be shown on one line: control characters (NUL, line breaks) escaped. */
export function printable(value: string): string {
  return value.replace(/[\0-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The message for an artifact `dest` that cannot be used, the same where it is read and where it is expanded. */
export function destProblem(artifact: string, dest: string, why: string): string {
  return `artifact ${artifact}: dest "${printable(dest)}" ${why}`;
}
