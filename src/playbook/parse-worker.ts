/**
 * Parses one big YAML configuration file on a worker thread (src/playbook/yaml-file.ts sends
 * it here). Parsing a recipe of 10,000 targets allocates about 90 MB and keeps a 25 MB
 * document with every position; on the worker all of that goes when the thread ends, and the
 * build's own heap only ever receives the plain, validated value.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../core/errors.js';
import { parseYamlText } from './yaml-file.js';
import { FILE_SCHEMAS } from './schema.js';

/** What the worker is given. */
export interface ParseRequest {
  text: string;
  display: string;
  /** Which format: a key of FILE_SCHEMAS. */
  schema: keyof typeof FILE_SCHEMAS;
  emptyValue: unknown;
}

/** What it answers: the value, or the diagnostics of a ConfigError. */
export type ParseAnswer = { value: unknown } | { diagnostics: ConfigError['diagnostics'] };

const request = workerData as ParseRequest;
let answer: ParseAnswer;
try {
  answer = { value: parseYamlText(request.text, request.display, FILE_SCHEMAS[request.schema], request.emptyValue).value };
} catch (error) {
  // Anything but a problem of the file is a defect: the thread's error reaches the caller.
  if (!(error instanceof ConfigError)) throw error;
  answer = { diagnostics: error.diagnostics };
}
parentPort!.postMessage(answer);
