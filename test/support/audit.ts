// Live auditd in tests: rules are ours only (our own key, a uid no one else uses) and removed afterwards; the
// `file` source reads the live audit.log from its end.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** An exit rule for `syscalls` made by processes of `uid`, keyed `key`. */
export function auditRule(key: string, uid: string, syscalls: string[]): string[] {
  return ['always,exit', '-F', 'arch=b64', ...syscalls.flatMap((s) => ['-S', s]), '-F', `uid=${uid}`, '-k', key];
}

export async function addAuditRule(rule: string[]): Promise<void> {
  await run('auditctl', ['-a', ...rule]);
}

/** Removes exactly that rule; never throws (used in afterAll). */
export async function deleteAuditRule(rule: string[]): Promise<void> {
  await run('auditctl', ['-d', ...rule]).catch(() => undefined);
}

/** A `file` source on the live audit log, from its current end. */
export const liveAuditSource = {
  type: 'file',
  format: 'auditd',
  include: ['/var/log/audit/audit.log'],
  read_from: 'end',
  poll_interval: '50ms',
} as const;
