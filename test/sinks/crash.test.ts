// Outrider as a separate process (the built CLI) tailing a container log into an http sink with a disk buffer while
// the receiver is down: killed with -9, restarted, killed again, restarted — once the receiver is back, every line
// arrives, in order.
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../support/build.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { tempDir, waitFor, writeTestConfig } from '../support/outrider.ts';
import { ndjsonReceived, seqs, TestReceiver } from './support.ts';

const CONTAINER_ID = 'd'.repeat(64);

function appendLines(file: string, from: number, count: number): void {
  let text = '';
  for (let n = from; n < from + count; n++) {
    text += `${JSON.stringify({ log: `app seq=${n}\n`, stream: 'stdout', time: new Date(Date.UTC(2026, 10, 23, 9) + n).toISOString() })}\n`;
  }
  appendFileSync(file, text);
}

/** Records in the disk buffer's segment files (whole lines). */
function bufferedLines(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .reduce((n, f) => n + (readFileSync(join(dir, f), 'utf8').match(/\n/g)?.length ?? 0), 0);
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

describe('disk buffer across kill -9', () => {
  it('delivers every line after the process was killed twice while the receiver was down', async () => {
    const cli = ensureBuilt();
    const dir = tempDir('outrider-crash-');
    const logDir = join(dir, 'containers', CONTAINER_ID);
    mkdirSync(logDir, { recursive: true });
    const logFile = join(logDir, `${CONTAINER_ID}-json.log`);
    appendLines(logFile, 0, 1500);
    const receiver = await new TestReceiver(() => ({ status: 200 })).listen();
    await receiver.down();
    const config = writeTestConfig(
      {
        sources: { containers: { type: 'container_logs', include: [join(dir, 'containers', '*', '*-json.log')] } },
        sinks: {
          siem: {
            type: 'http',
            inputs: ['containers'],
            uri: `${receiver.url}/ingest`,
            batch: { max_events: 200, timeout: '50ms' },
            retry: { initial_backoff: '50ms', max_backoff: '300ms' },
            buffer: { type: 'disk', max_bytes: '64MiB' },
          },
        },
      },
      join(dir, 'data'),
    );
    const bufferDir = join(dir, 'data', 'state', 'siem', 'buffer');
    const run = () => {
      const child = spawn(process.execPath, [cli, 'run', '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      children.push(child);
      return child;
    };

    let child = run();
    expect(await waitFor(() => bufferedLines(bufferDir) >= 1500, 20_000)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    appendLines(logFile, 1500, 500);
    child = run();
    expect(await waitFor(() => bufferedLines(bufferDir) >= 2000, 20_000)).toBe(true);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));

    appendLines(logFile, 2000, 500);
    child = run();
    await receiver.listen();
    expect(await waitFor(() => new Set(seqs(ndjsonReceived(receiver))).size >= 2500, 30_000)).toBe(true);
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await receiver.down();
    const events = ndjsonReceived(receiver);
    // At-least-once: a line read again after a kill may come twice, but never out of order and none is missing.
    expect([...new Set(seqs(events))]).toEqual([...Array(2500).keys()]);
    const file = recordOutput('sinks/crash-kill9', events);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  }, 120_000);
});
