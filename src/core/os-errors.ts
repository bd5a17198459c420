// File system errors told to an operator as one line: the path, the error code, what it means for whom, and the fix.

const MEANING: Record<string, (who: string) => string> = {
  ENOENT: () => 'no such file or directory',
  EACCES: (who) => `permission denied for ${who}`,
  EPERM: (who) => `operation not permitted for ${who}`,
  EROFS: () => 'read-only file system',
  ENOSPC: () => 'no space left on the device',
  EDQUOT: () => 'disk quota exceeded',
  ENOTDIR: () => 'a part of the path is a file, not a directory',
  EISDIR: () => 'a directory, not a file',
  EEXIST: () => 'exists, and is not a directory',
};

/** `uid 10001 gid 10001`: who the process runs as, for permission problems. */
export function processUser(): string {
  return process.getuid && process.getgid ? `uid ${process.getuid()} gid ${process.getgid()}` : 'this user';
}

/**
 * `/etc/outrider/x.yaml: ENOENT (no such file or directory): <fix>` — `fixes` by error code say what to do in the
 * caller's situation; `path` stands in when the error names none.
 */
export function explainFsError(err: unknown, path: string, fixes: Partial<Record<string, string>> = {}): string {
  const e = err as NodeJS.ErrnoException;
  if (!e?.code) return `${path}: ${e instanceof Error ? e.message : String(e)}`;
  const meaning = MEANING[e.code]?.(processUser());
  const fix = fixes[e.code];
  return `${e.path ?? path}: ${e.code}${meaning ? ` (${meaning})` : ''}${fix ? `: ${fix}` : ''}`;
}
