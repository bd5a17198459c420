// The Node.js version check the `outrider` command runs first (see entry.ts). Imports nothing, so that an old Node
// can load it and say what it needs instead of failing while linking modules that use newer APIs.

/** The oldest Node.js Outrider runs on: package.json's `engines.node` (a test keeps the two equal). */
export const MIN_NODE: readonly [number, number] = [22, 15];

/** What to tell the user when this Node cannot run Outrider, or undefined when it can. */
export function nodeTooOld(version: string, execPath: string): string | undefined {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map(Number);
  if (major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1])) return undefined;
  return [
    `outrider: needs Node.js ${MIN_NODE.join('.')} or newer; this is Node.js ${version} (${execPath}).`,
    '  Get Node 24 beside the system one:  npm install -g --prefix ~/.cache/node24 node@24',
    '  and put it first on PATH:           export PATH=~/.cache/node24/bin:$PATH',
    '  (bash scripts/dev.sh run does both), or run the container image: docs/operations.md, "Deploying".',
  ].join('\n');
}
