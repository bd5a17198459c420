// Dotted field paths over OCSF events (`device.container.image.name`, `unmapped.docker.env`), as policy config
// writes them. An array on the way fans out to its elements unless the next segment is an index, so
// `device.container.tags.name` reaches every tag's name.

/** Calls `visit` with the parent and key of every value the path reaches. */
export function visitPath(
  root: unknown,
  segments: readonly string[],
  visit: (parent: Record<string, unknown> | unknown[], key: string | number, path: string) => void,
  index = 0,
  prefix = '',
): void {
  if (root === null || typeof root !== 'object') return;
  if (Array.isArray(root)) {
    const segment = segments[index]!;
    if (/^\d+$/.test(segment)) {
      const i = Number(segment);
      if (i < root.length) step(root, i, `${prefix}[${i}]`, segments, visit, index);
      return;
    }
    for (let i = 0; i < root.length; i++) visitPath(root[i], segments, visit, index, `${prefix}[${i}]`);
    return;
  }
  const segment = segments[index]!;
  if (!Object.hasOwn(root, segment)) return;
  step(root as Record<string, unknown>, segment, prefix ? `${prefix}.${segment}` : segment, segments, visit, index);
}

function step(
  parent: Record<string, unknown> | unknown[],
  key: string | number,
  path: string,
  segments: readonly string[],
  visit: (parent: Record<string, unknown> | unknown[], key: string | number, path: string) => void,
  index: number,
): void {
  if (index === segments.length - 1) {
    visit(parent, key, path);
    return;
  }
  visitPath((parent as Record<string | number, unknown>)[key], segments, visit, index + 1, path);
}
