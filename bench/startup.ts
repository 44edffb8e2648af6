/** (a) Start-up: `aiop --version` against `node -e 0`. Floor: at most 60 ms above. */
import { AIOP, REPO, hyperfine } from './run.js';
import type { Scenario } from './recipe.js';

export const startupScenarios: Scenario[] = [
  {
    name: 'startup',
    async run(options) {
      const runs = Math.max(10, options.runs * 4);
      const times = hyperfine(
        REPO,
        [
          { name: 'aiop --version', command: `node ${AIOP} --version` },
          { name: 'node -e 0', command: 'node -e 0' },
        ],
        runs,
        3,
      );
      return {
        rows: [
          {
            scenario: 'start-up',
            ours: 'aiop --version',
            oursMs: times.get('aiop --version')!,
            peer: 'node -e 0',
            peerMs: times.get('node -e 0')!,
            floorMsAbove: 60,
            note: `${(times.get('aiop --version')! - times.get('node -e 0')!).toFixed(0)} ms above; ${runs} runs`,
          },
        ],
        notes: [],
      };
    },
  },
];
