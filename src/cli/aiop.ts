#!/usr/bin/env node
/**
 * `aiop`: parses the command line into typed options and hands them to a command in
 * src/commands/. Commands are imported lazily so that start-up stays fast.
 */
import { UsageError } from '../core/errors.js';
import { parseAiop } from './aiop-args.js';
import { main } from './run.js';

/** Parses the arguments of one `aiop build` (recorded, or from packages.yml). */
function parseBuildArgv(argv: string[]) {
  const parsed = parseAiop(['build', ...argv]);
  if (parsed.command !== 'build') throw new UsageError(`not a build command: aiop build ${argv.join(' ')}`);
  return parsed.options;
}

main('aiop', async () => {
  const invocation = parseAiop(process.argv.slice(2));
  const io = { cwd: process.cwd(), env: process.env, stdout: process.stdout };
  switch (invocation.command) {
    case 'done':
      return 0;
    case 'build-help': {
      const { buildTargetHelp } = await import('../commands/build.js');
      return buildTargetHelp(invocation.systemTarget, { ...io, argv: [] });
    }
    case 'build': {
      const { buildCommand } = await import('../commands/build.js');
      return buildCommand(invocation.options, { ...io, argv: invocation.argv });
    }
    case 'build_all': {
      const { buildAllCommand } = await import('../commands/build-all.js');
      return buildAllCommand(invocation.options, io, parseBuildArgv);
    }
    case 'build_again': {
      const { buildAgainCommand } = await import('../commands/build-again.js');
      return buildAgainCommand(io, parseBuildArgv);
    }
  }
});
