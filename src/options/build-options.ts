/**
 * The options of `aiop build`, typed once: the command line, `packages.yml` entries and
 * `build_again` all produce this shape.
 */
import type { Level } from '../core/events.js';

export interface BuildOptions {
  systemTarget: string;
  /** Compatibility values: bare values in compatibility order, or `name=value`. */
  compatArgs: string[];
  destinationPath?: string;
  force: boolean;
  zipPack: boolean;
  gotoPack: boolean;
  /** Which outputs to upload: `zip`, `deb`, `rpm`. */
  upload: string[];
  uploadUrl?: string;
  /** Installers to make (`--installer deb rpm`), one file per format. */
  installer?: Array<'deb' | 'rpm'>;
  installerName?: string;
  /** `--signing_key FILE`: the armored OpenPGP key that signs the .rpm (else AIOP_SIGNING_KEY, else unsigned). */
  signingKey?: string;
  noVerify: boolean;
  retries?: number;
  noCaching: boolean;
  verbose: boolean;
  stdoutLogLevel?: Level;
  fileLogLevel?: Level;
  hideProgress: boolean;
  machineReadable: boolean;
  /** Recipe targets at once (`-j`); default the number of CPUs. */
  jobs?: number;
  /** Command-line `VAR=value` assignments (the strongest variables). */
  assignments: Record<string, string>;
}

/** Defaults of every option that has one. */
export function defaultBuildOptions(systemTarget: string, compatArgs: string[] = []): BuildOptions {
  return {
    systemTarget,
    compatArgs,
    force: false,
    zipPack: false,
    gotoPack: false,
    upload: [],
    noVerify: false,
    noCaching: false,
    verbose: false,
    hideProgress: false,
    machineReadable: false,
    assignments: {},
  };
}

/** The uploadable outputs. */
export const UPLOAD_KINDS = ['zip', 'deb', 'rpm'] as const;
