// Durations and sizes as operators write them ("250ms", "5s", "10m"; "64KiB", "100MB"), or plain numbers
// (milliseconds, bytes).
import { z } from 'zod';

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)$/;
const SIZE = /^(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)$/;
const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_BYTES: Record<string, number> = {
  B: 1,
  KB: 1e3,
  KiB: 1024,
  MB: 1e6,
  MiB: 1024 ** 2,
  GB: 1e9,
  GiB: 1024 ** 3,
};

/** A duration in milliseconds: a non-negative number, or a string such as "250ms", "5s", "2m". */
export const duration = z
  .union([z.number().nonnegative(), z.string()])
  .meta({ unit: 'duration' })
  .transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const m = DURATION.exec(v.trim());
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid duration "${v}" (use e.g. 500ms, 5s, 2m, 1h, or milliseconds)`,
      });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * DURATION_MS[m[2]!]!);
  });

/** A size in bytes: a positive integer, or a string such as "64KiB", "100MB". */
export const byteSize = z
  .union([z.number().int().positive(), z.string()])
  .meta({ unit: 'size' })
  .transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const m = SIZE.exec(v.trim());
    if (!m) {
      ctx.addIssue({ code: 'custom', message: `invalid size "${v}" (use e.g. 64KiB, 100MB, 1GiB, or bytes)` });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * SIZE_BYTES[m[2]!]!);
  });
