// Every metric Outrider exports is defined here, once, so names and labels stay consistent across components.
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export class Metrics {
  readonly registry = new Registry();

  readonly eventsRead = new Counter({
    name: 'outrider_events_read_total',
    help: 'Records read by a source (lines, audit records, engine events), before any transform.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly bytesRead = new Counter({
    name: 'outrider_bytes_read_total',
    help: 'Bytes read by a source.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly eventsEmitted = new Counter({
    name: 'outrider_events_emitted_total',
    help: 'OCSF events a component passed downstream (for sinks: written and acknowledged by the destination).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly eventsFailed = new Counter({
    name: 'outrider_events_failed_total',
    help: 'Bad input kept raw (malformed JSON, invalid UTF-8, over-long lines...) or events a sink could not deliver, by reason.',
    labelNames: ['component', 'reason'] as const,
    registers: [this.registry],
  });
  readonly eventsDropped = new Counter({
    name: 'outrider_events_dropped_total',
    help: 'Events dropped on purpose by a transform or a drop policy, by reason.',
    labelNames: ['component', 'reason'] as const,
    registers: [this.registry],
  });
  readonly secretsRedacted = new Counter({
    name: 'outrider_secrets_redacted_total',
    help: 'Fields in which a redaction rule masked a secret, by the source of the event and rule name.',
    labelNames: ['component', 'rule'] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'outrider_queue_depth_events',
    help: 'Events waiting in a sink input queue.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly queueCapacity = new Gauge({
    name: 'outrider_queue_capacity_events',
    help: 'Capacity of a sink input queue; a full queue slows the sources feeding it.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly sinkLatency = new Histogram({
    name: 'outrider_sink_write_seconds',
    help: 'Time a sink took to write and acknowledge one batch.',
    labelNames: ['component'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });
  readonly sinkBatches = new Counter({
    name: 'outrider_sink_batches_total',
    help: 'Batches a sink wrote, by outcome.',
    labelNames: ['component', 'outcome'] as const,
    registers: [this.registry],
  });
  readonly filesTailed = new Gauge({
    name: 'outrider_files_tailed',
    help: 'Files a source follows (including rotated or deleted files still being read to the end, and idle files whose descriptor was closed: see outrider_files_open).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly checkpointLagBytes = new Gauge({
    name: 'outrider_checkpoint_lag_bytes',
    help: 'Bytes read from files but not yet acknowledged by every sink (sum over open files).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly fileEvents = new Counter({
    name: 'outrider_file_events_total',
    help: 'File lifecycle events seen by a tailing source (opened, rotated, truncated, deleted, closed, lost; idle_closed and reopened: a file at the end of its data gave its descriptor to another and was opened again by identity).',
    labelNames: ['component', 'event'] as const,
    registers: [this.registry],
  });
  readonly filesMatched = new Gauge({
    name: 'outrider_files_matched',
    help: 'Paths matching a tailing source’s include globs at its last scan (0: the source has nothing to read).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly filesOpen = new Gauge({
    name: 'outrider_files_open',
    help: 'File descriptors a tailing source holds (at most its max_open_files).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly filesSkipped = new Counter({
    name: 'outrider_files_skipped_total',
    help: 'Paths a tailing source does not read, counted once per path and reason: symlink_outside_include, fifo, socket, device, directory (never opened), permission_denied (a file or directory it cannot read; tried again at every scan), too_many_open_files (the process ran out of descriptors; counted once per episode).',
    labelNames: ['component', 'reason'] as const,
    registers: [this.registry],
  });
  readonly decodeWorkerEvents = new Counter({
    name: 'outrider_decode_worker_events_total',
    help: 'Decode worker events: restarted (a worker died and was replaced; its files are read again from their last settled position), redone (chunks decoded again because a record or multiline group continued across a chunk boundary).',
    labelNames: ['component', 'event'] as const,
    registers: [this.registry],
  });
  readonly componentUp = new Gauge({
    name: 'outrider_component_up',
    help: '1 when a component is running normally, 0 when it is degraded or stopped.',
    labelNames: ['component', 'kind'] as const,
    registers: [this.registry],
  });
  readonly sinkEventsSent = new Counter({
    name: 'outrider_sink_events_sent_total',
    help: 'Events a sink sent to its destination, counting every attempt (a retried event counts again).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly sinkEventsAcknowledged = new Counter({
    name: 'outrider_sink_events_acknowledged_total',
    help: 'Events the destination accepted (for Splunk HEC with indexer acknowledgement: once indexed).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly sinkEventsRetried = new Counter({
    name: 'outrider_sink_events_retried_total',
    help: 'Events sent again after a retryable failure (network error, 429, 5xx, a bulk item refused for now).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly sinkEventsDeadLettered = new Counter({
    name: 'outrider_sink_events_dead_lettered_total',
    help: 'Events the destination refused for good (400, 401, 403, 413 for one event, a rejected bulk item), written to the dead-letter file, by reason.',
    labelNames: ['component', 'reason'] as const,
    registers: [this.registry],
  });
  readonly sinkBufferBytes = new Gauge({
    name: 'outrider_sink_buffer_bytes',
    help: 'Bytes held in a sink disk buffer (segment files not yet fully delivered).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly sinkBufferMaxBytes = new Gauge({
    name: 'outrider_sink_buffer_max_bytes',
    help: 'Capacity of a sink disk buffer; when full, its when_full policy applies.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly sinkBufferOldestAge = new Gauge({
    name: 'outrider_sink_buffer_oldest_event_age_seconds',
    help: 'How long the oldest event still in a sink disk buffer has waited there (0 when the buffer is empty).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });

  readonly dockerApiUp = new Gauge({
    name: 'outrider_docker_api_up',
    help: '1 while a component is connected to the Docker Engine API (events stream open, pings answered), else 0.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly dockerReconnects = new Counter({
    name: 'outrider_docker_reconnects_total',
    help: 'Times a component lost the Docker Engine API (or its events stream) and connected again.',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });
  readonly enrichmentLookups = new Counter({
    name: 'outrider_enrichment_lookups_total',
    help: 'Container metadata lookups by result: hit, tombstone (container already removed), miss (unknown to the runtime), unavailable (runtime unreachable).',
    labelNames: ['component', 'result'] as const,
    registers: [this.registry],
  });
  readonly enrichmentCacheEntries = new Gauge({
    name: 'outrider_enrichment_cache_entries',
    help: 'Containers held in a metadata cache (live and tombstoned).',
    labelNames: ['component'] as const,
    registers: [this.registry],
  });

  constructor(withProcessMetrics = true) {
    if (withProcessMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'outrider_' });
  }
}
