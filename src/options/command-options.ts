/** The typed options of the commands that are not builds of one package. */
import type { Level } from '../core/events.js';

/** `aiop build_all` options. */
export interface BuildAllOptions {
  threads?: number;
  ci?: 'gitlab' | 'github';
  local: boolean;
  verbose: boolean;
  stdoutLogLevel?: Level;
  fileLogLevel?: Level;
  hideProgress: boolean;
  machineReadable: boolean;
}

/** `aiop init` options. */
export interface InitOptions {
  /** Where to write the playbook (default: the current folder). */
  folder?: string;
  name?: string;
  target?: string;
}

