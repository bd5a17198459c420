// metadata.uid: every event has one, container lines included; the same input record read again (a replay from
// scratch, with or without decode workers) gets the same uid; distinct records get distinct ones; it is a hash of
// the record after masking, never of a secret.
import { afterEach, describe, expect, it } from 'vitest';
import { eventUid } from '../../src/ocsf/event-uid.ts';
import { recordOutput, validateOcsf } from '../support/output.ts';
import { readNdjson, type TestOutrider, tailDockerLog, waitFor } from '../support/outrider.ts';

const ID = 'e'.repeat(64);
const running: TestOutrider[] = [];
afterEach(async () => {
  for (const o of running.splice(0)) await o.stop();
});

interface Event {
  message: string;
  raw_data: string;
  metadata: { uid?: string };
}

/** Runs a container_logs source over `text` from scratch (a fresh data dir) and returns what the file sink got. */
async function readContainerLog(
  text: string,
  lines: number,
  decodeThreads: number,
  rawData: 'always' | 'when_lossy' = 'when_lossy',
): Promise<Event[]> {
  const keys = { read_chunk_bytes: 4096, decode_threads: decodeThreads, raw_data: rawData };
  const { outrider, out } = await tailDockerLog(text, keys, ID);
  running.push(outrider);
  await waitFor(() => readNdjson(out).length >= lines, 30_000);
  return readNdjson<Event>(out);
}

describe('metadata.uid', () => {
  it('is set on every container line, distinct per record and the same when the records are read again', async () => {
    let text = '';
    for (let i = 0; i < 300; i++) {
      const time = new Date(Date.UTC(2026, 10, 23, 0, 0, 0, i)).toISOString();
      // The same message many times: the records still differ by their time.
      const log = i === 7 ? 'login with password=hunter2-secret\n' : `request ${i % 5}\n`;
      text += `${JSON.stringify({ log, stream: 'stdout', time })}\n`;
    }
    // raw_data always, to see the record the uid is made of; the uid does not depend on whether it is shipped.
    const first = await readContainerLog(text, 300, 2, 'always');
    const again = await readContainerLog(text, 300, 2);
    const mainThread = await readContainerLog(text, 300, 0);
    expect(first).toHaveLength(300);
    const uids = first.map((e) => e.metadata.uid);
    for (const uid of uids) expect(uid).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(uids).size).toBe(300);
    expect(again.map((e) => e.metadata.uid)).toEqual(uids);
    expect(mainThread.map((e) => e.metadata.uid)).toEqual(uids);
    // Made of the masked record: the secret is not in raw_data, nor hashed into the uid.
    const secret = first[7]!;
    expect(secret.raw_data).toContain('login with password=');
    expect(secret.raw_data).not.toContain('hunter2');
    expect(secret.message).not.toContain('hunter2');
    expect(secret.metadata.uid).toBe(eventUid('containers', ID, secret.raw_data));
    const v = validateOcsf(recordOutput('ocsf/event-uid', first));
    if (v) expect(v.failed, v.output).toBe(0);
  });
});
