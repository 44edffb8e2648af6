#!/usr/bin/env node
/** `aap [option]... [assignment]... [target]...`: the A-A-P command line over aiop's engine. */
import { parseAapArgs } from './aap-args.js';
import { AAP_HELP } from './aap-help.js';
import { main } from './run.js';
import { machineReadableFailures } from '../session/reporting.js';
import { VERSION } from '../core/version.js';
import { guardStandardStreams } from '../core/std-streams.js';

const argv = process.argv.slice(2);

let machineReadable = false;
try {
  machineReadable = parseAapArgs(argv).options.machineReadable;
} catch {
  // Parsed again below, where the usage error is reported.
}
// As for aiop build: the message of the failure that ends the run goes to stderr, and one
// found before the reporters exist (a usage error) still ends stdout with error-count and error.
machineReadableFailures('aap', machineReadable);

main('aap', async () => {
  guardStandardStreams();
  const invocation = parseAapArgs(argv);
  if (invocation.options.help) {
    process.stdout.write(AAP_HELP);
    return 0;
  }
  if (invocation.options.version) {
    process.stdout.write(`aap (aiop) ${VERSION}\n`);
    return 0;
  }
  const { aapCommand, terminalConfirm } = await import('../commands/aap.js');
  const confirm = terminalConfirm();
  return aapCommand(invocation, {
    cwd: process.cwd(),
    env: process.env,
    // $AAP: this very program, with the Node options it runs under.
    self: [process.execPath, ...process.execArgv, process.argv[1]!],
    stdout: process.stdout,
    stderr: process.stderr,
    ...(confirm ? { confirm } : {}),
  });
});
