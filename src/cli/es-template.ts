// `outrider es-template`: the index (or data-stream) template of an elasticsearch sink, printed, or installed with
// the sink's own endpoint, credentials and TLS settings.
import type { OutriderConfig } from '../config/load.ts';
import { authorizationHeaders, HttpTransport } from '../delivery/http.ts';
import { elasticsearchSinkSchema } from '../sinks/elasticsearch/config.ts';
import { indexTemplate, type SearchFlavor } from '../sinks/elasticsearch/template.ts';
import type { CommandOutcome } from './outcome.ts';

export interface EsTemplateOptions {
  config?: string;
  sink?: string;
  mode?: string;
  opensearch?: boolean;
  install?: boolean;
}

/**
 * Without `--install`: the template body as JSON on stdout (the `PUT _index_template/<name>` to make goes to
 * stderr). With it: the template is PUT on the sink's cluster (OpenSearch is recognised from its `GET /` answer).
 * `usage` is the synopsis, for a usage error.
 */
export async function esTemplateCommand(
  values: EsTemplateOptions,
  loadConfig: (file: string | undefined) => Promise<OutriderConfig | undefined>,
  usage: string,
): Promise<CommandOutcome> {
  if (values.mode !== undefined && values.mode !== 'index' && values.mode !== 'data_stream') {
    process.stderr.write(`--mode is index or data_stream\nusage: ${usage}\n`);
    return 'usage';
  }
  let sink: ReturnType<typeof elasticsearchSinkSchema.parse> | undefined;
  if (values.config !== undefined || values.sink !== undefined || values.install) {
    const config = await loadConfig(values.config);
    if (!config) return 'usage';
    const candidates = config.sinks.filter((s) => s.type === 'elasticsearch');
    const chosen = values.sink ? candidates.find((s) => s.name === values.sink) : candidates[0];
    if (!chosen || (!values.sink && candidates.length > 1)) {
      process.stderr.write(
        values.sink
          ? `no elasticsearch sink named "${values.sink}" in the config (elasticsearch sinks: ${candidates.map((s) => s.name).join(', ') || 'none'})\n`
          : `name the sink with --sink (elasticsearch sinks in the config: ${candidates.map((s) => s.name).join(', ') || 'none'})\n`,
      );
      return 'usage';
    }
    sink = chosen.config as typeof sink;
  }
  const settings = sink ?? elasticsearchSinkSchema.parse({ inputs: ['-'], endpoint: 'http://localhost:9200' });
  const mode = (values.mode as 'index' | 'data_stream' | undefined) ?? settings.mode;
  const shape = { ...settings, mode };
  if (!values.install || !sink) {
    const template = indexTemplate(shape, values.opensearch ? 'opensearch' : 'elasticsearch');
    process.stdout.write(`${JSON.stringify(template.body, null, 2)}\n`);
    process.stderr.write(`# PUT _index_template/${template.name} with the body above (or: --install)\n`);
    return 'ok';
  }
  const transport = new HttpTransport({
    timeout: sink.timeout,
    compression: 'none',
    tls: sink.tls,
    headers: { 'content-type': 'application/json', ...authorizationHeaders(sink.auth) },
  });
  try {
    const base = sink.endpoint.replace(/\/+$/, '');
    let flavor: SearchFlavor = values.opensearch ? 'opensearch' : 'elasticsearch';
    if (!values.opensearch) {
      const root = await transport.send('GET', `${base}/`, undefined);
      if (root.status >= 300) {
        process.stderr.write(`GET ${base}/ answered HTTP ${root.status}: ${root.body.slice(0, 500)}\n`);
        return 'failed';
      }
      const info = JSON.parse(root.body) as { version?: { distribution?: string } };
      if (info.version?.distribution === 'opensearch') flavor = 'opensearch';
    }
    const template = indexTemplate(shape, flavor);
    const res = await transport.send(
      'PUT',
      `${base}/_index_template/${encodeURIComponent(template.name)}`,
      JSON.stringify(template.body),
    );
    if (res.status >= 300) {
      process.stderr.write(
        `PUT _index_template/${template.name} answered HTTP ${res.status}: ${res.body.slice(0, 500)}\n`,
      );
      return 'failed';
    }
    process.stdout.write(
      `installed index template ${template.name} (${flavor}, pattern ${String((template.body.index_patterns as string[])[0])}) on ${base}\n`,
    );
    return 'ok';
  } catch (err) {
    process.stderr.write(`cannot install the template on ${sink.endpoint}: ${(err as Error).message}\n`);
    return 'failed';
  } finally {
    await transport.close();
  }
}
