// How `outrider healthcheck` finds the agent's config and admin address without being told (the image's
// HEALTHCHECK cannot know how the container was started).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adminUrl } from '../../src/admin/address.ts';
import { agentFromCmdline, findRunningAgents, readAdminConfig } from '../../src/cli/healthcheck.ts';
import { tempDir } from '../support/outrider.ts';

describe('healthcheck', () => {
  it('recognises an `outrider run` command line and its --config, relative to its working directory', () => {
    const entry = '/opt/outrider/dist/src/cli/entry.js';
    expect(agentFromCmdline(['node', '--max-semi-space-size=4', entry, 'run'], 1, '/var/lib/outrider')).toEqual({
      pid: 1,
      config: undefined,
    });
    expect(agentFromCmdline(['node', entry, 'run', '--config', 'x.yaml'], 7, '/etc/outrider')).toEqual({
      pid: 7,
      config: '/etc/outrider/x.yaml',
    });
    expect(agentFromCmdline(['node', entry, 'run', '-c', '/abs.yaml'], 7, '/')?.config).toBe('/abs.yaml');
    expect(agentFromCmdline(['/usr/bin/outrider', 'run', '--config=/a.yaml'], 9, '/')?.config).toBe('/a.yaml');
    expect(agentFromCmdline(['node', entry, 'healthcheck'], 8, '/')).toBeUndefined();
    expect(agentFromCmdline(['node', 'server.js', 'run'], 8, '/')).toBeUndefined();
    // This process (vitest) is not one.
    expect(findRunningAgents().map((a) => a.pid)).not.toContain(process.pid);
  });

  it('reads only the admin section, with ${VAR} resolved, and the default when absent', () => {
    const dir = tempDir('outrider-hc-');
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'admin:\n  address: ${ADMIN_ADDR}\nsinks:\n  s:\n    token: ${UNSET_SECRET}\n');
    expect(readAdminConfig(file, { ADMIN_ADDR: '0.0.0.0:9100' })).toEqual({ enabled: true, address: '0.0.0.0:9100' });
    expect(() => readAdminConfig(file, {})).toThrow('admin.address: environment variable ADMIN_ADDR is not set');
    writeFileSync(file, 'sources: {}\n');
    expect(readAdminConfig(file, {})).toEqual({ enabled: true, address: '127.0.0.1:8686' });
    // A wildcard address is reached on loopback.
    expect(adminUrl('0.0.0.0:9100', '/readyz')).toBe('http://127.0.0.1:9100/readyz');
    expect(adminUrl('[::]:9100', '/readyz')).toBe('http://[::1]:9100/readyz');
  });
});
