/** The tool's own version, from package.json. */
import { readFileSync } from 'node:fs';

// Read as a file: `require` of a JSON file would set up the CommonJS loader for it, a few
// milliseconds of every command's start-up.
export const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
