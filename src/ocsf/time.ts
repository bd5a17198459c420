/** Milliseconds since the epoch from an RFC 3339 timestamp (any number of fraction digits), or undefined. */
export function parseRfc3339(text: string): number | undefined {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
