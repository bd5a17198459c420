import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory holding Outrider's package.json and config/ (the repository, or the installed package). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'config', 'outrider.yaml'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the Outrider package root');
    dir = up;
  }
}

let version: string | undefined;

/** Outrider's version, from its package.json. */
export function outriderVersion(): string {
  version ??= (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return version;
}
