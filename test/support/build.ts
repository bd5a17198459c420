// Tests that run Outrider as a separate process (kill -9, the CLI) use the built dist/; build it once if missing.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './output.ts';

export const CLI = join(REPO_ROOT, 'dist', 'src', 'cli', 'entry.js');

export function ensureBuilt(): string {
  if (!existsSync(CLI)) execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit', timeout: 300_000 });
  return CLI;
}
