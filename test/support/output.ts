// Every OCSF event a test produces is also written under test-output/, where .ci/run validates all of them with the
// independent validator (../shared/ocsf/validate.mjs).
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const SHARED = join(REPO_ROOT, '..', 'shared');
export const CORPORA = join(SHARED, 'corpora');
export const VALIDATOR = join(SHARED, 'ocsf', 'validate.mjs');
export const OUTPUT_DIR = join(REPO_ROOT, 'test-output');

/** Writes (or appends) events as NDJSON under test-output/NAME.ndjson; returns the file path. */
export function recordOutput(name: string, events: unknown[], append = false): string {
  const file = join(OUTPUT_DIR, `${name}.ndjson`);
  mkdirSync(dirname(file), { recursive: true });
  const text =
    events.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n') + (events.length ? '\n' : '');
  if (append) appendFileSync(file, text);
  else writeFileSync(file, text);
  return file;
}

export interface ValidationResult {
  passed: number;
  failed: number;
  output: string;
}

/** Runs the independent OCSF validator on an NDJSON file (when ../shared is there). */
export function validateOcsf(file: string): ValidationResult | undefined {
  if (!existsSync(VALIDATOR)) return undefined;
  let output: string;
  try {
    output = execFileSync(process.execPath, [VALIDATOR, file], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    output = String((err as { stdout?: string }).stdout ?? err);
  }
  const m = /(\d+) passed, (\d+) failed\s*$/.exec(output.trim());
  return { passed: Number(m?.[1] ?? 0), failed: Number(m?.[2] ?? -1), output };
}
