#!/usr/bin/env node
/** `aap [option]... [assignment]... [target]...`: the A-A-P command line (issue 7). */
import { parseAapArgs } from './aap-args.js';
import { main } from './run.js';
import { setFailurePrinter } from '../report/failure-printer.js';
import { aapCommand, terminalConfirm } from '../commands/aap.js';

const argv = process.argv.slice(2);

let machineReadable = false;
try {
  machineReadable = parseAapArgs(argv).options.machineReadable;
} catch {
  // aapCommand parses again and reports the usage error.
}
if (machineReadable) {
  // Failures become ui,error lines on stdout, like every other message in this mode.
  setFailurePrinter((message) => {
    const field = message.replace(/,/g, '%!(PACKER_COMMA)').replace(/\r/g, '\\r').replace(/\n/g, '\\n');
    process.stdout.write(`${Math.floor(Date.now() / 1000)},,ui,error,${field}\n`);
  });
}

main('aap', () => {
  const confirm = terminalConfirm();
  return aapCommand(argv, {
    cwd: process.cwd(),
    env: process.env,
    stdout: process.stdout,
    stderr: process.stderr,
    ...(confirm ? { confirm } : {}),
  });
});
