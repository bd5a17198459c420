// Every metric Outrider exports is defined here, once, so names and labels stay consistent across components.
// Every series of a component carries `component` (its name in the config), `component_kind` (source, transform,
// sink) and `component_type` (container_logs, http, …), as Vector's do: the two are filled in here from the
// component's registration, so call sites name only the component.
import {
  Counter,
  type CounterConfiguration,
  collectDefaultMetrics,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type IncreaseDataWithExemplar,
  type LabelValues,
  type ObserveDataWithExemplar,
  Registry,
} from 'prom-client';
import { outriderVersion } from './build-info.ts';

type KindLabel = 'component_kind' | 'component_type';
const KIND_LABELS: KindLabel[] = ['component_kind', 'component_type'];

/** Component name → the kind and type labels of its series. */
class ComponentTable {
  private readonly byName = new Map<string, { component_kind: string; component_type: string }>();

  register(name: string, kind: string, type: string): void {
    this.byName.set(name, { component_kind: kind, component_type: type });
  }

  /** `labels` with the kind and type of its `component` added. */
  label<L extends LabelValues<string>>(labels: L): L {
    const name = labels.component;
    if (typeof name !== 'string') return labels;
    return { ...labels, ...this.byName.get(name) };
  }
}

type Config<C> = C & { labelNames: readonly string[] };

class ComponentCounter<T extends string> extends Counter<T | KindLabel> {
  constructor(
    private readonly table: ComponentTable,
    config: Config<CounterConfiguration<T>>,
  ) {
    super({ ...config, labelNames: [...config.labelNames, ...KIND_LABELS] } as CounterConfiguration<T | KindLabel>);
    // prom-client's constructor sets `inc` as an own property (with or without exemplars), which hides a method
    // override: wrap that one instead.
    const inc = this.inc.bind(this) as (labels?: LabelValues<T | KindLabel> | number, value?: number) => void;
    this.inc = (
      labels?: LabelValues<T | KindLabel> | IncreaseDataWithExemplar<T | KindLabel> | number,
      value?: number,
    ) =>
      typeof labels === 'object' ? inc(this.table.label(labels as LabelValues<T | KindLabel>), value) : inc(labels);
  }
}

class ComponentGauge<T extends string> extends Gauge<T | KindLabel> {
  constructor(
    private readonly table: ComponentTable,
    config: Config<GaugeConfiguration<T>>,
  ) {
    super({ ...config, labelNames: [...config.labelNames, ...KIND_LABELS] } as GaugeConfiguration<T | KindLabel>);
  }

  override set(labels: LabelValues<T | KindLabel> | number, value?: number): void {
    if (typeof labels === 'object') super.set(this.table.label(labels), value!);
    else super.set(labels);
  }

  override inc(labels?: LabelValues<T | KindLabel> | number, value?: number): void {
    if (typeof labels === 'object') super.inc(this.table.label(labels), value);
    else super.inc(labels);
  }

  override dec(labels?: LabelValues<T | KindLabel> | number, value?: number): void {
    if (typeof labels === 'object') super.dec(this.table.label(labels), value);
    else super.dec(labels);
  }
}

class ComponentHistogram<T extends string> extends Histogram<T | KindLabel> {
  constructor(
    private readonly table: ComponentTable,
    config: Config<HistogramConfiguration<T>>,
  ) {
    super({ ...config, labelNames: [...config.labelNames, ...KIND_LABELS] } as HistogramConfiguration<T | KindLabel>);
  }

  override observe(
    labels: LabelValues<T | KindLabel> | ObserveDataWithExemplar<T | KindLabel> | number,
    value?: number,
  ): void {
    if (typeof labels === 'object') super.observe(this.table.label(labels as LabelValues<T | KindLabel>), value!);
    else super.observe(labels);
  }
}

/** prom-client's default metrics that are gauges named `_total` (a counter's suffix): the per-type series without
 * the suffix (`outrider_nodejs_active_handles{type}`…) say the same. */
const DEFAULT_GAUGES_NAMED_TOTAL = [
  'outrider_nodejs_active_handles_total',
  'outrider_nodejs_active_requests_total',
  'outrider_nodejs_active_resources_total',
];

export class Metrics {
  readonly registry = new Registry();
  private readonly components = new ComponentTable();

  private counter<T extends string>(config: Config<CounterConfiguration<T>>): ComponentCounter<T> {
    return new ComponentCounter(this.components, { ...config, registers: [this.registry] });
  }

  private gauge<T extends string>(config: Config<GaugeConfiguration<T>>): ComponentGauge<T> {
    return new ComponentGauge(this.components, { ...config, registers: [this.registry] });
  }

  /** Names a component's kind and type, for the labels of its series (before it reports anything). */
  registerComponent(name: string, kind: string, type: string): void {
    this.components.register(name, kind, type);
  }

  readonly buildInfo = new Gauge({
    name: 'outrider_build_info',
    help: 'Always 1; labels: the Outrider version and the Node.js version running it.',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry],
  });

  readonly eventsRead = this.counter({
    name: 'outrider_events_read_total',
    help: 'Records read by a source (lines, audit records, engine events), before any transform.',
    labelNames: ['component'] as const,
  });
  readonly bytesRead = this.counter({
    name: 'outrider_bytes_read_total',
    help: 'Bytes read by a source.',
    labelNames: ['component'] as const,
  });
  readonly eventsEmitted = this.counter({
    name: 'outrider_events_emitted_total',
    help: 'OCSF events a component passed downstream (for sinks: delivered, i.e. acknowledged by the destination or dead-lettered).',
    labelNames: ['component'] as const,
  });
  readonly inputKeptRaw = this.counter({
    name: 'outrider_input_kept_raw_total',
    help: 'Bad input (malformed JSON, invalid UTF-8, over-long lines...) turned into events that keep the raw text and name the problem, by reason: not a loss.',
    labelNames: ['component', 'reason'] as const,
  });
  readonly eventsLost = this.counter({
    name: 'outrider_events_lost_total',
    help: 'Events that will not reach the destination, by reason: dead_lettered (refused for their content; in the dead-letter file), dead_letter_full (the dead-letter file was at its max_bytes), buffer_full (deleted by when_full: drop_oldest), buffer_corrupt, otlp_partial_success, rejected.',
    labelNames: ['component', 'reason'] as const,
  });
  readonly eventsDropped = this.counter({
    name: 'outrider_events_dropped_total',
    help: 'Events dropped on purpose by a transform or a drop policy, by reason.',
    labelNames: ['component', 'reason'] as const,
  });
  readonly componentErrors = this.counter({
    name: 'outrider_component_errors_total',
    help: 'Errors a component recovered from without losing events, by reason: for sinks the kind of failed request (transient, destination: credentials or endpoint refused, too_large, invalid), for transforms transform_error (events passed on unchanged).',
    labelNames: ['component', 'reason'] as const,
  });
  readonly secretsRedacted = this.counter({
    name: 'outrider_secrets_redacted_total',
    help: 'Fields in which a redaction rule masked a secret, by the source of the event and rule name.',
    labelNames: ['component', 'rule'] as const,
  });
  readonly queueDepth = this.gauge({
    name: 'outrider_queue_depth_events',
    help: 'Events waiting in a sink input queue.',
    labelNames: ['component'] as const,
  });
  readonly queueBytes = this.gauge({
    name: 'outrider_queue_depth_bytes',
    help: 'Encoded bytes of the events waiting in a sink input queue.',
    labelNames: ['component'] as const,
  });
  readonly queueCapacity = this.gauge({
    name: 'outrider_queue_capacity_events',
    help: 'Capacity of a sink input queue in events; a full queue slows the sources feeding it.',
    labelNames: ['component'] as const,
  });
  readonly queueCapacityBytes = this.gauge({
    name: 'outrider_queue_capacity_bytes',
    help: 'Capacity of a sink input queue in bytes; a full queue slows the sources feeding it.',
    labelNames: ['component'] as const,
  });
  readonly sinkLatency = new ComponentHistogram(this.components, {
    name: 'outrider_sink_write_seconds',
    help: 'Time a sink took to write and acknowledge one batch.',
    labelNames: ['component'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30],
    registers: [this.registry],
  });
  readonly sinkBatches = this.counter({
    name: 'outrider_sink_batches_total',
    help: 'Requests a sink made, by outcome: ok, retry (failed, sent again), partial (some items to send again), dead_letter.',
    labelNames: ['component', 'outcome'] as const,
  });
  readonly filesTailed = this.gauge({
    name: 'outrider_files_tailed',
    help: 'Files a source follows (including rotated or deleted files still being read to the end, and idle files whose descriptor was closed: see outrider_files_open).',
    labelNames: ['component'] as const,
  });
  readonly checkpointLagBytes = this.gauge({
    name: 'outrider_checkpoint_lag_bytes',
    help: 'Bytes read from files but not yet acknowledged by every sink (sum over open files).',
    labelNames: ['component'] as const,
  });
  readonly fileEvents = this.counter({
    name: 'outrider_file_events_total',
    help: 'File lifecycle events seen by a tailing source (opened, rotated, truncated, deleted, closed, lost; idle_closed and reopened: a file at the end of its data gave its descriptor to another and was opened again by identity).',
    labelNames: ['component', 'event'] as const,
  });
  readonly filesMatched = this.gauge({
    name: 'outrider_files_matched',
    help: 'Paths matching a tailing source’s include globs at its last scan (0: the source has nothing to read).',
    labelNames: ['component'] as const,
  });
  readonly filesOpen = this.gauge({
    name: 'outrider_files_open',
    help: 'File descriptors a tailing source holds (at most its max_open_files).',
    labelNames: ['component'] as const,
  });
  readonly filesSkipped = this.counter({
    name: 'outrider_files_skipped_total',
    help: 'Paths a tailing source does not read, counted once per path and reason: symlink_outside_include, fifo, socket, device, directory (never opened), permission_denied (a file or directory it cannot read; tried again at every scan), too_many_open_files (the process ran out of descriptors; counted once per episode).',
    labelNames: ['component', 'reason'] as const,
  });
  readonly decodeWorkerEvents = this.counter({
    name: 'outrider_decode_worker_events_total',
    help: 'Decode worker events: restarted (a worker died and was replaced; its files are read again from their last settled position), redone (chunks decoded again because a record or multiline group continued across a chunk boundary).',
    labelNames: ['component', 'event'] as const,
  });
  readonly componentUp = this.gauge({
    name: 'outrider_component_up',
    help: '1 when a component is running normally, 0 when it is degraded (see /readyz for the reason).',
    labelNames: ['component'] as const,
  });
  readonly sinkEventsSent = this.counter({
    name: 'outrider_sink_events_sent_total',
    help: 'Events a sink sent to its destination, counting every attempt (a retried event counts again).',
    labelNames: ['component'] as const,
  });
  readonly sinkEventsAcknowledged = this.counter({
    name: 'outrider_sink_events_acknowledged_total',
    help: 'Events the destination accepted (for Splunk HEC with indexer acknowledgement: once indexed).',
    labelNames: ['component'] as const,
  });
  readonly sinkEventsRetried = this.counter({
    name: 'outrider_sink_events_retried_total',
    help: 'Events sent again after a failed request (network error, 429, 5xx, 401/403, a bulk item refused for now).',
    labelNames: ['component'] as const,
  });
  readonly sinkEventsDeadLettered = this.counter({
    name: 'outrider_sink_events_dead_lettered_total',
    help: 'Events the destination refused for their own content (400 or 413 for that one event, a rejected bulk item), written to the dead-letter file, by reason.',
    labelNames: ['component', 'reason'] as const,
  });
  readonly sinkBufferBytes = this.gauge({
    name: 'outrider_sink_buffer_bytes',
    help: 'Bytes held in a sink disk buffer (segment files not yet fully delivered).',
    labelNames: ['component'] as const,
  });
  readonly sinkBufferMaxBytes = this.gauge({
    name: 'outrider_sink_buffer_max_bytes',
    help: 'Capacity of a sink disk buffer; when full, its when_full policy applies.',
    labelNames: ['component'] as const,
  });
  readonly sinkBufferOldestAge = this.gauge({
    name: 'outrider_sink_buffer_oldest_event_age_seconds',
    help: 'How long the oldest event still in a sink disk buffer has waited there (0 when the buffer is empty).',
    labelNames: ['component'] as const,
  });
  readonly deadLetterBytes = this.gauge({
    name: 'outrider_sink_dead_letter_bytes',
    help: 'Size of a sink dead-letter file; at dead_letter.max_bytes, further refused events are counted in outrider_events_lost_total{reason="dead_letter_full"}.',
    labelNames: ['component'] as const,
  });

  readonly dockerApiUp = this.gauge({
    name: 'outrider_docker_api_up',
    help: '1 while a component is connected to the Docker Engine API (events stream open, pings answered), else 0.',
    labelNames: ['component'] as const,
  });
  readonly dockerReconnects = this.counter({
    name: 'outrider_docker_reconnects_total',
    help: 'Times a component lost the Docker Engine API (or its events stream) and connected again.',
    labelNames: ['component'] as const,
  });
  readonly criApiUp = this.gauge({
    name: 'outrider_cri_api_up',
    help: '1 while a component is connected to a container runtime’s CRI API (version supported, listings answered), else 0.',
    labelNames: ['component'] as const,
  });
  readonly criReconnects = this.counter({
    name: 'outrider_cri_reconnects_total',
    help: 'Times a component lost a CRI runtime (or found it unusable) and tried again.',
    labelNames: ['component'] as const,
  });
  readonly enrichmentLookups = this.counter({
    name: 'outrider_enrichment_lookups_total',
    help: 'Container metadata lookups by result: hit, tombstone (container already removed), miss (unknown to the runtime), unavailable (runtime unreachable), unidentified (the event does not say which container, e.g. a log path outside the CRI layout).',
    labelNames: ['component', 'result'] as const,
  });
  readonly enrichmentCacheEntries = this.gauge({
    name: 'outrider_enrichment_cache_entries',
    help: 'Containers held in a metadata cache (live and tombstoned).',
    labelNames: ['component'] as const,
  });

  constructor(withProcessMetrics = true) {
    this.buildInfo.set({ version: outriderVersion(), node: process.versions.node }, 1);
    if (!withProcessMetrics) return;
    // The event-loop delay histogram samples with a libuv timer: prom-client's default 10 ms wakes an idle agent 100
    // times a second (most of its idle CPU); 100 ms still catches any stall a scrape would care about.
    collectDefaultMetrics({ register: this.registry, prefix: 'outrider_', eventLoopMonitoringPrecision: 100 });
    for (const name of DEFAULT_GAUGES_NAMED_TOTAL) this.registry.removeSingleMetric(name);
  }
}
