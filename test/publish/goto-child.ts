/** Run by goto-pack.test.ts in a child process (so DISPLAY/BROWSER/PATH apply to `open`); prints the result. */
import { gotoPack } from '../../src/publish/goto-pack.js';

const folder = process.argv[2];
if (folder !== undefined) process.stdout.write(`${JSON.stringify(await gotoPack(folder))}\n`);
