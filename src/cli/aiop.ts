#!/usr/bin/env node
/**
 * `aiop`: parses the command line into typed options and hands them to a command in
 * src/commands/. Commands, and the parser itself, are imported lazily: a no-op build is
 * answered before either is loaded, because start-up is most of its time.
 */
import { UsageError } from '../core/errors.js';
import { main } from './run.js';
import { guardStandardStreams, standardOutput } from '../core/std-streams.js';
import type { Unchanged } from '../store/noop.js';

main('aiop', async () => {
  let args = process.argv.slice(2);
  const io = {
    cwd: process.cwd(),
    env: process.env,
    // Made when written to: a quiet build answered by a fast path prints nothing.
    get stdout(): NodeJS.WriteStream {
      return standardOutput();
    },
  };
  if (args[0] === 'build_again') {
    // It says what it runs again, and its parser may print.
    guardStandardStreams();
    // Checked as typed (usage errors first), then run as the recorded `aiop build`.
    const { parseAiop } = await import('./aiop-args.js');
    const checked = parseAiop(args).command;
    if (checked !== 'build_again') return checked === 'usage' ? 2 : 0;
    const [{ buildAgainArgv }, { reportWordsOf }] = await Promise.all([import('../commands/build-again.js'), import('../options/report-words.js')]);
    args = ['build', ...(await buildAgainArgv(io, reportWordsOf(args.slice(1))))];
  }
  let unchanged: Unchanged | undefined;
  if (args[0] === 'build') {
    const { replayNoop } = await import('../session/noop-replay.js');
    const replay = await replayNoop(args.slice(1), io);
    if (replay.status !== undefined) return replay.status;
    unchanged = replay.unchanged;
  }
  // The parser writes help and errors to the standard streams itself.
  guardStandardStreams();
  const { parseAiop } = await import('./aiop-args.js');
  /** Parses the arguments of one `aiop build` (recorded, or from packages.yml). */
  const parseBuildArgv = (argv: string[]) => {
    const parsed = parseAiop(['build', ...argv]);
    if (parsed.command !== 'build') throw new UsageError(`not a build command: aiop build ${argv.join(' ')}`);
    return parsed.options;
  };
  const invocation = parseAiop(args);
  switch (invocation.command) {
    case 'done':
      return 0;
    case 'usage':
      return 2;
    case 'build-help': {
      const { buildTargetHelp } = await import('../commands/build.js');
      return buildTargetHelp(invocation.systemTarget, { ...io, argv: [] });
    }
    case 'build': {
      const { buildCommand } = await import('../commands/build.js');
      return buildCommand(invocation.options, { ...io, argv: invocation.argv, ...(unchanged ? { unchanged } : {}) });
    }
    case 'build_all': {
      const { buildAllCommand } = await import('../commands/build-all.js');
      return buildAllCommand(invocation.options, io, parseBuildArgv);
    }
    case 'build_again':
      // Rewritten into `build` above.
      return 0;
    case 'init': {
      const { initCommand } = await import('../commands/init.js');
      return initCommand(invocation.options, io);
    }
    case 'validate': {
      const { validateCommand } = await import('../commands/validate.js');
      return validateCommand({ verbose: invocation.verbose, machineReadable: invocation.machineReadable }, io);
    }
    case 'targets': {
      const { targetsCommand } = await import('../commands/targets.js');
      return targetsCommand(io);
    }
    case 'schema': {
      const { schemaCommand } = await import('../commands/schema.js');
      return schemaCommand(io);
    }
    case 'repo-apt': {
      const { repoAptCommand } = await import('../commands/repo.js');
      return repoAptCommand(invocation.options, io);
    }
    case 'cache': {
      const { cacheCommand } = await import('../commands/cache.js');
      return cacheCommand(invocation.action, invocation.olderThanDays, io);
    }
    case 'completion': {
      const { completionScript } = await import('../commands/completion.js');
      io.stdout.write(completionScript(invocation.shell));
      return 0;
    }
    case '__complete': {
      const { completeCommand } = await import('../commands/completion.js');
      return completeCommand(invocation.words, io);
    }
  }
});
