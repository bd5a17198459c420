// Index templates for the elasticsearch sink's indices and data streams, printed or installed by
// `outrider es-template`. They make the documents usable as analysts use them: `@timestamp` and `time` (and every
// other OCSF timestamp, epoch milliseconds) mapped as dates, strings as keywords (aggregations, exact filters) with
// `message` and `raw_data` also full-text, `metadata.uid` a keyword (it is the document _id), and the free-form
// `unmapped` object as one `flattened` field (OpenSearch: `flat_object`), so arbitrary keys never explode the mapping.
import type { ElasticsearchSinkConfig } from './config.ts';

export type SearchFlavor = 'elasticsearch' | 'opensearch';

export interface IndexTemplate {
  /** Name under _index_template/. */
  name: string;
  body: Record<string, unknown>;
}

/** Above Elasticsearch's built-in `logs` template (priority 100), so a `logs-ocsf-*` data stream takes this one. */
const PRIORITY = 200;

/** The index pattern a sink's indices match: `ocsf-%Y.%m.%d` → `ocsf-*`; a data stream's `<type>-<dataset>-*`. */
export function indexPattern(config: Pick<ElasticsearchSinkConfig, 'mode' | 'index' | 'data_stream'>): string {
  if (config.mode === 'data_stream') return `${config.data_stream.type}-${config.data_stream.dataset}-*`;
  return config.index.replace(/(%[YmdH][^%]*)+$/, '*').replace(/%[YmdH]/g, '*');
}

export function indexTemplate(
  config: Pick<ElasticsearchSinkConfig, 'mode' | 'index' | 'data_stream'>,
  flavor: SearchFlavor,
): IndexTemplate {
  const stream = config.mode === 'data_stream';
  const epochMillis = { type: 'date', format: 'epoch_millis' };
  return {
    name: stream ? `outrider-ocsf-${config.data_stream.type}-${config.data_stream.dataset}` : 'outrider-ocsf',
    body: {
      index_patterns: [indexPattern(config)],
      priority: PRIORITY,
      ...(stream ? { data_stream: {} } : {}),
      _meta: { description: 'OCSF events from Outrider', managed_by: 'outrider es-template' },
      template: {
        settings: { 'index.mapping.total_fields.limit': 5000 },
        mappings: {
          dynamic_templates: [
            // OCSF timestamps (`time`, `start_time`, `created_time`…) are epoch milliseconds.
            { ocsf_timestamps: { match: '*time', match_mapping_type: 'long', mapping: epochMillis } },
            { strings: { match_mapping_type: 'string', mapping: { type: 'keyword', ignore_above: 8191 } } },
          ],
          properties: {
            '@timestamp': { type: 'date' },
            time: epochMillis,
            message: { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 8191 } } },
            raw_data: { type: 'text' },
            metadata: { properties: { uid: { type: 'keyword' }, original_time: { type: 'keyword' } } },
            unmapped: { type: flavor === 'opensearch' ? 'flat_object' : 'flattened' },
          },
        },
      },
    },
  };
}
