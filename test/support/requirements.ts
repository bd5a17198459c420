// Tests that need a real root-only component (dockerd, auditd, sshd, rsyslog, containerd) skip with a loud message on a laptop
// without it; under CI=true a missing component fails the run instead, so CI can never pass by skipping.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);
export const IN_CI = process.env.CI === 'true';

export type Component = 'docker' | 'auditd' | 'sshd' | 'rsyslog' | 'root' | 'containerd';

async function probe(component: Component): Promise<string | undefined> {
  const isRoot = process.getuid?.() === 0;
  switch (component) {
    case 'root':
      return isRoot ? undefined : 'not running as root';
    case 'docker':
      if (!existsSync('/var/run/docker.sock')) return '/var/run/docker.sock does not exist (is dockerd running?)';
      try {
        await run('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: 10_000 });
        return undefined;
      } catch (err) {
        return `docker engine not answering: ${(err as Error).message.split('\n')[0]}`;
      }
    case 'auditd':
      if (!isRoot) return 'auditd tests need root';
      try {
        const { stdout } = await run('auditctl', ['-s'], { timeout: 10_000 });
        if (!/pid [1-9]/.test(stdout)) return 'auditd is not running (auditctl -s shows no daemon pid)';
        return undefined;
      } catch (err) {
        return `auditctl unavailable: ${(err as Error).message.split('\n')[0]}`;
      }
    case 'sshd':
      return existsSync('/usr/sbin/sshd')
        ? isRoot
          ? undefined
          : 'sshd tests need root'
        : '/usr/sbin/sshd not installed';
    case 'rsyslog':
      return existsSync('/usr/sbin/rsyslogd') ? undefined : '/usr/sbin/rsyslogd not installed';
    case 'containerd':
      // Tests start their own containerd (test/support/containerd.ts): the binaries and root are enough.
      if (!isRoot) return 'containerd tests need root';
      for (const binary of ['/usr/bin/containerd', '/usr/bin/ctr', '/usr/bin/containerd-shim-runc-v2'])
        if (!existsSync(binary)) return `${binary} not installed (Debian package containerd)`;
      return undefined;
  }
}

/**
 * True when every component is usable. When one is not: under CI=true throws (the test file fails); elsewhere
 * prints a loud warning and returns false (use with describe.skipIf).
 */
export async function requireComponents(...components: Component[]): Promise<boolean> {
  for (const c of components) {
    const problem = await probe(c);
    if (problem === undefined) continue;
    const message = `${c} is required by these tests but unavailable: ${problem}`;
    if (IN_CI) throw new Error(`CI=true: ${message}. .ci/run must install and start it.`);
    process.stderr.write(`\n${'!'.repeat(100)}\n!!! SKIPPING: ${message}\n${'!'.repeat(100)}\n\n`);
    return false;
  }
  return true;
}
