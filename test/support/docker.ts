// Test containers without an image registry: a busybox-static root filesystem turned into an image with
// `docker import`, built once per machine.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
// Bump the tag when the root filesystem changes: an image built by an older version is then not reused.
export const TEST_IMAGE = 'outrider-test/busybox:2';
const APPLETS = [
  'sh',
  'echo',
  'cat',
  'sleep',
  'printf',
  'head',
  'tr',
  'yes',
  'seq',
  'true',
  'ls',
  'id',
  'wget',
  'nc',
  'dd',
  'env',
  'kill',
  'ps',
];

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', args, { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

export async function ensureTestImage(): Promise<string> {
  try {
    await docker('image', 'inspect', TEST_IMAGE);
    return TEST_IMAGE;
  } catch {
    // build below
  }
  const root = mkdtempSync(join(tmpdir(), 'outrider-rootfs-'));
  try {
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'tmp'));
    copyFileSync('/bin/busybox', join(root, 'bin', 'busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(root, 'bin', a));
    await run('sh', ['-c', `tar -C '${root}' -c . | docker import -c 'ENV PATH=/bin' - ${TEST_IMAGE}`], {
      timeout: 120_000,
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return TEST_IMAGE;
}
