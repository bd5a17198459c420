// `outrider replay-dead-letter`: events a destination refused for their content go to the dead-letter file; once the
// cause is fixed, the built CLI sends them again through the same sink, in order, and clears the file.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeEvents, ndjsonReceived, seqs, startSink, TestReceiver } from '../sinks/support.ts';
import { ensureBuilt, runCli } from '../support/build.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, tempDir, waitFor, writeTestConfig } from '../support/outrider.ts';

describe('outrider replay-dead-letter', () => {
  it('sends a sink’s dead-lettered events again through it once the destination accepts them', async () => {
    const cli = ensureBuilt();
    const dir = tempDir();
    // A receiver that refuses events with odd numbers for their content (400): they are dead-lettered one by one.
    let fixed = false;
    const receiver = await new TestReceiver((req) => {
      const refused = seqs(
        req.body
          .toString()
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l)),
      );
      return !fixed && refused.some((n) => n % 2 === 1) ? { status: 400, body: 'field too long' } : { status: 200 };
    }).listen();
    const harness = await startSink('http', { uri: `${receiver.url}/in`, batch: { timeout: 10 } }, dir);
    await harness.source.emit(makeEvents(12));
    expect(await waitFor(() => harness.source.acked === 12, 20_000)).toBe(true);
    await harness.stop();
    const deadLetter = join(dir, 'state', 'out', 'dead-letter.ndjson');
    const dead = readNdjson<{ source: string; reason: string }>(deadLetter);
    expect(dead).toHaveLength(6);
    expect(dead[0]).toMatchObject({ source: 'app', reason: 'HTTP 400: field too long' });

    fixed = true;
    const before = ndjsonReceived(receiver).length;
    const config = writeTestConfig(
      {
        sources: { app: { type: 'container_logs', include: [join(dir, 'none', '*.log')] } },
        sinks: { out: { type: 'http', inputs: ['app'], uri: `${receiver.url}/in`, batch: { timeout: '10ms' } } },
      },
      dir,
    );
    const r = await runCli(cli, ['replay-dead-letter', '--sink', 'out', '--config', config]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sink: 'out', events: 6, delivered: 6, dead_lettered_again: 0 });
    const replayed = ndjsonReceived(receiver).slice(before);
    expect(seqs(replayed)).toEqual([1, 3, 5, 7, 9, 11]);
    // The file was taken away whole and, everything delivered, removed.
    expect(existsSync(deadLetter)).toBe(false);
    expect(readdirSync(join(dir, 'state', 'out')).filter((n) => n.includes('replaying'))).toEqual([]);
    const file = recordOutput('cli/replay-dead-letter', replayed);
    expect(validateOcsf(file)?.failed ?? 0).toBe(0);
  });

  it('exits 2 naming the problem for a sink without a dead-letter file or an unknown sink', async () => {
    const cli = ensureBuilt();
    const dir = tempDir();
    const config = writeTestConfig(
      {
        sources: { app: { type: 'container_logs', include: [join(dir, 'none', '*.log')] } },
        sinks: { local: { type: 'file', inputs: ['app'], path: join(dir, 'out.ndjson') } },
      },
      dir,
    );
    const fileSink = await runCli(cli, ['replay-dead-letter', '--sink', 'local', '--config', config]);
    expect(fileSink.code).toBe(2);
    expect(fileSink.stderr).toMatch(/has no dead-letter file/);
    const unknown = await runCli(cli, ['replay-dead-letter', '--sink', 'nope', '--config', config]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no sink named "nope"/);
  });
});
