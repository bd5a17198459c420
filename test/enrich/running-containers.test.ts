// The registry of running containers: feeds, full listings, stale answers, lookups by image digest; and the Docker
// feed (docker_metadata's cache) on the real engine: a started container is registered under its image id, a stopped
// or instantly exiting one is not left behind, and the events of the minute before start the cache replays do not
// undo its first listing (a container restarted then is not told stopped).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TransformContext } from '../../src/core/component.ts';
import { type RunningChange, RunningContainers } from '../../src/enrich/running-containers.ts';
import { createLogger } from '../../src/observability/logger.ts';
import { Metrics } from '../../src/observability/metrics.ts';
import { dockerMetadataSchema } from '../../src/transforms/docker_metadata/config.ts';
import { DockerMetadataTransform } from '../../src/transforms/docker_metadata/index.ts';
import { docker, ensureTestImage } from '../support/docker.ts';
import { tempDir, waitFor } from '../support/outrider.ts';
import { requireComponents } from '../support/requirements.ts';

const IMAGE_A = `sha256:${'a'.repeat(64)}`;
const IMAGE_B = `sha256:${'b'.repeat(64)}`;
const DIGEST_A = `sha256:${'d'.repeat(64)}`;

function ref(id: string, image = IMAGE_A, name = `c-${id}`) {
  return { id, name, runtime: 'docker' as const, image: { id: image, name: 'app', tag: '1', digest: DIGEST_A } };
}

describe('RunningContainers', () => {
  it('finds containers by image id or repo digest, and tells starts, updates and stops once', () => {
    const registry = new RunningContainers();
    const changes: string[] = [];
    registry.subscribe((c: RunningChange) => changes.push(`${c.kind} ${c.container.ref.id}`));
    const feed = registry.feed('docker');
    feed.running(ref('1'), Date.now());
    feed.running(ref('1'), Date.now());
    feed.running(ref('2', IMAGE_B), Date.now());
    expect(registry.withImage([IMAGE_A]).map((c) => c.ref.id)).toEqual(['1']);
    expect(registry.withImage([DIGEST_A]).map((c) => c.ref.id)).toEqual(['1', '2']);
    feed.running(ref('1', IMAGE_A, 'renamed'), Date.now());
    feed.stopped('1');
    feed.stopped('1');
    expect(registry.withImage([IMAGE_A])).toEqual([]);
    expect(changes).toEqual(['started 1', 'started 2', 'updated 1', 'stopped 1']);
  });

  it('a full listing replaces the feed’s view and marks it synced; a stale "running" is ignored', () => {
    const registry = new RunningContainers();
    expect(registry.synced).toBe(false);
    const feed = registry.feed('docker');
    const asked = Date.now() - 10;
    feed.running(ref('1'), asked);
    feed.running(ref('2'), asked);
    expect(registry.synced).toBe(false);
    feed.listed([ref('2'), ref('3')], Date.now());
    expect(registry.synced).toBe(true);
    expect(registry.withImage([IMAGE_A]).map((c) => c.ref.id)).toEqual(['2', '3']);
    // An inspect asked before the container died answers "running": not believed.
    feed.stopped('3');
    feed.running(ref('3'), asked);
    expect(registry.get('3')).toBeUndefined();
    feed.running(ref('3'), Date.now() + 1);
    expect(registry.get('3')).toBeDefined();
    // A second runtime's feed: not synced until it lists.
    const cri = registry.feed('cri');
    expect(registry.synced).toBe(false);
    cri.listed([], Date.now());
    expect(registry.synced).toBe(true);
    // A closed feed's containers are forgotten without "stopped".
    const changes: string[] = [];
    registry.subscribe((c) => changes.push(c.kind));
    feed.close();
    expect(registry.withImage([IMAGE_A])).toEqual([]);
    expect(changes).toEqual([]);
  });
});

const ok = await requireComponents('docker', 'root');

/** A transform's context whose pipeline holds `registry`. */
function contextOf(registry: RunningContainers): TransformContext {
  return {
    name: 'meta',
    logger: createLogger('error'),
    metrics: new Metrics(false),
    stateDir: tempDir(),
    hostname: 'host-a',
    setHealthy: () => undefined,
    runningContainers: registry,
    emit: async () => undefined,
  };
}

describe.skipIf(!ok)('the Docker feed on the real engine', () => {
  const registry = new RunningContainers();
  const transform = new DockerMetadataTransform(dockerMetadataSchema.parse({ inputs: ['x'] }));
  const name = `outrider-running-${process.pid}`;
  let imageId = '';

  beforeAll(async () => {
    const image = await ensureTestImage();
    imageId = await docker('image', 'inspect', '--format', '{{.Id}}', image);
    await transform.start(contextOf(registry));
  });

  afterAll(async () => {
    await docker('rm', '-f', name, `${name}-once`).catch(() => undefined);
    await transform.stop();
  });

  it('registers a started container under its image id, and forgets it when it stops', async () => {
    expect(registry.synced).toBe(true);
    const id = await docker('run', '-d', '--name', name, await ensureTestImage(), 'sleep', '300');
    expect(await waitFor(() => registry.get(id) !== undefined, 15_000)).toBe(true);
    expect(registry.withImage([imageId]).map((c) => c.ref.id)).toContain(id);
    expect(registry.get(id)!.ref).toMatchObject({ name, runtime: 'docker', image: { id: imageId } });
    await docker('stop', '-t', '0', name);
    expect(await waitFor(() => registry.get(id) === undefined, 15_000)).toBe(true);
  });

  it('never leaves a container that exits at once registered as running', async () => {
    const id = await docker('run', '-d', '--name', `${name}-once`, await ensureTestImage(), 'true');
    await docker('wait', id);
    await new Promise((r) => setTimeout(r, 1000));
    expect(registry.get(id)).toBeUndefined();
  });
});

describe.skipIf(!ok)('the Docker feed started after containers came and went', () => {
  const name = `outrider-replay-${process.pid}`;
  const registry = new RunningContainers();
  const transform = new DockerMetadataTransform(dockerMetadataSchema.parse({ inputs: ['x'] }));

  afterAll(async () => {
    await transform.stop();
    await docker('rm', '-f', `${name}-restarted`, `${name}-exited`).catch(() => undefined);
  });

  it('replays the minute before start without telling a restarted container stopped, nor an exited one running', async () => {
    const image = await ensureTestImage();
    // Just before Outrider starts: one container restarted (die, start), one that ran and exited.
    const restarted = await docker('run', '-d', '--name', `${name}-restarted`, image, 'sleep', '300');
    await docker('restart', '-t', '0', restarted);
    const exited = await docker('run', '-d', '--name', `${name}-exited`, image, 'true');
    await docker('wait', exited);
    const changes: string[] = [];
    registry.subscribe((c) => {
      if (c.container.ref.id === restarted || c.container.ref.id === exited)
        changes.push(`${c.kind} ${c.container.ref.name}`);
    });
    await transform.start(contextOf(registry));
    expect(registry.synced).toBe(true);
    // The replayed events (create, start, die, start of the first; create, start, die of the second) are read after
    // the listing: give them time to be (wrongly) acted on.
    await new Promise((r) => setTimeout(r, 2000));
    expect(changes).toEqual([`started ${name}-restarted`]);
    expect(registry.get(restarted)).toBeDefined();
    expect(registry.get(exited)).toBeUndefined();
  });
});
