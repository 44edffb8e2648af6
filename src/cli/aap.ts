#!/usr/bin/env node
/** `aap [option]... [assignment]... [target]...`: the A-A-P command line (issue 7). */
import { main, EXIT } from './run.js';

main('aap', async () => {
  process.stderr.write('aap: not implemented yet (see issue 7)\n');
  return EXIT.usage;
});
