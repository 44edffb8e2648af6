#!/usr/bin/env node
/** `aiop`: argument parsing only; each command lives in src/commands/. */
import { main, EXIT } from './run.js';

main('aiop', async () => {
  process.stderr.write('aiop: not implemented yet\n');
  return EXIT.usage;
});
