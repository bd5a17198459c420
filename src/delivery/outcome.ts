// How a sink tells the shared delivery code what happened to a batch: resolve (all accepted, or a SinkWriteResult for
// per-item outcomes) or throw a DeliveryError saying what kind of failure it was. Any other error is treated as
// transient (a dropped connection, a timeout, a full disk).

/**
 * - `transient` (network, timeout, 408, 429, 5xx): sent again with backoff.
 * - `destination`: the destination refuses Outrider's requests whatever they hold — credentials (401, 403, Splunk's
 *   token codes), a wrong endpoint (404, 405): a property of the destination, not of the events. Sent again with
 *   capped backoff, and the sink reports itself not ready at once, with the reason.
 * - `too_large` (413) and `invalid` (400, 422: the request's content is refused): the batch is split in halves until
 *   the refused event is alone; only that event is dead-lettered.
 */
export type DeliveryErrorKind = 'transient' | 'destination' | 'too_large' | 'invalid';

export class DeliveryError extends Error {
  constructor(
    message: string,
    readonly kind: DeliveryErrorKind,
    /** From Retry-After (429/503): wait at least this long before the next attempt. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Status classes shared by every HTTP sink; the sink adds what its protocol says on top (HEC codes, bulk items). */
export function errorForStatus(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  detail: string,
): DeliveryError | undefined {
  if (status >= 200 && status < 300) return undefined;
  const message = `HTTP ${status}${detail ? `: ${detail.slice(0, 500)}` : ''}`;
  return new DeliveryError(message, kindOfStatus(status), parseRetryAfter(headers['retry-after']));
}

/** What an HTTP status says about a request (also used for the items of a bulk answer). */
export function kindOfStatus(status: number): DeliveryErrorKind {
  if (status === 413) return 'too_large';
  // 400 and 422: this request's content is refused; 415 would be our encoding, i.e. every request: destination.
  if (status === 400 || status === 422) return 'invalid';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  // 401/403 (credentials), 404/405/410 (endpoint), 407 (proxy), 3xx without follow, other 4xx: resending the same
  // events elsewhere in another batch would fare no better, and dead-lettering them would lose the stream for a
  // token rotated late. Keep them and say so.
  return 'destination';
}
