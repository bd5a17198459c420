import { describe, expect, it } from 'vitest';
import { knownKeysAt } from '../../src/config/errors.ts';
import { topLevelSchema } from '../../src/config/schema.ts';
import { closest, editDistance } from '../../src/config/suggest.ts';
import { fileSinkSchema } from '../../src/sinks/file/config.ts';

describe('did you mean', () => {
  it('suggests the closest name within a third of its length; a swap counts as one edit', () => {
    expect(editDistance('read_form', 'read_from')).toBe(1);
    expect(closest('read_form', ['read_from', 'rotate_wait'])).toBe('read_from');
    expect(closest('sink', ['sinks', 'sources'])).toBe('sinks');
    expect(closest('colour', ['path', 'inputs', 'rotate'])).toBeUndefined();
    expect(closest('x'.repeat(10_000), ['x'])).toBeUndefined();
  });

  it('knows the keys a schema accepts at a path, through defaults, records and arrays', () => {
    expect(knownKeysAt(topLevelSchema, [])).toContain('shutdown_timeout');
    expect(knownKeysAt(topLevelSchema, ['admin'])).toEqual(['enabled', 'address']);
    expect(knownKeysAt(fileSinkSchema, ['rotate'])).toEqual(expect.arrayContaining(['max_bytes', 'max_files']));
  });
});
