// metadata.uid: a deterministic identity for every event, so that a record read twice (at-least-once delivery, a
// replay after a crash, a dead-letter replay) is recognisably the same event — Elasticsearch uses it as the
// document _id, so a replay overwrites (or, for data streams, is refused with 409) instead of duplicating.
import { hash } from 'node:crypto';
import type { Envelope } from '../core/envelope.ts';

/**
 * The uid of the event made of `raw` (the input record, after secrets were masked) read by source `source` from
 * container `containerId`: 128 bits of SHA-256 over the three, as 32 hex characters.
 *
 * Why the record and not its position (file identity + offset): a position is not stable — rotation renames the
 * file, copytruncate moves its bytes into another inode, an inode is reused after deletion — while a record read
 * again is byte for byte the same wherever it is found. Container records (Docker json-file, CRI) carry a
 * nanosecond timestamp and the stream, audit records their serial, Kubernetes audit events their auditID, Docker
 * events their timeNano: two distinct records of these formats never hash alike. Lines of second-resolution
 * formats (syslog) that are byte-identical within one second of one host and process share a uid; a sink that
 * deduplicates on it keeps one of them.
 */
export function eventUid(source: string, containerId: string | undefined, raw: string): string {
  return hash('sha256', `${source}\u0000${containerId ?? ''}\u0000${raw}`, 'hex').slice(0, 32);
}

/** Sets `metadata.uid` of an envelope's event from its source, container and (masked) raw record, unless it has
 * one (an event a transform made, e.g. a baseline finding, names its own). */
export function assignEventUid(envelope: Envelope): void {
  const metadata = envelope.event.metadata;
  if (metadata.uid !== undefined) return;
  metadata.uid = eventUid(envelope.source, envelope.container?.id, envelope.raw || JSON.stringify(envelope.event));
}
