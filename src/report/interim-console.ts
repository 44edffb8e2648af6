/** A plain console reporter used until the full reporters land (issue 5). Human text to stderr. */
import type { AiopEvent, EventStream, Level } from '../core/events.js';
import { LEVELS } from '../core/events.js';

export function attachInterimConsole(stream: EventStream, level: Level, out: NodeJS.WritableStream = process.stderr): void {
  const threshold = LEVELS.indexOf(level);
  const show = (l: Level, text: string): void => {
    if (LEVELS.indexOf(l) >= threshold && level !== 'DISABLED') out.write(`${text}\n`);
  };
  let ran = 0;
  let upToDate = 0;
  stream.subscribe((e: AiopEvent) => {
    switch (e.type) {
      case 'log':
        show(e.level, `${e.level === 'INFO' ? '' : `${e.level}: `}${e.message}`);
        break;
      case 'target-start':
        ran++;
        show('INFO', `==> ${e.target} (${e.reason}${e.detail ? `: ${e.detail}` : ''})`);
        break;
      case 'target-skip':
        upToDate++;
        show('DEBUG', `    ${e.target} is up to date`);
        break;
      case 'command':
        show('DEBUG', `    $ ${e.command}`);
        break;
      case 'command-output':
        show('DEBUG', `    | ${e.text}`);
        break;
      case 'target-fail':
        show('ERROR', `ERROR: ${e.error}`);
        break;
      case 'phase':
        if (e.phase === 'done') show('INFO', ran === 0 ? `everything is up to date (${upToDate} targets)` : `built: ${ran} targets run, ${upToDate} up to date`);
        break;
      case 'output':
        show('INFO', `${e.kind}: ${e.id}`);
        break;
      default:
        break;
    }
  });
}
