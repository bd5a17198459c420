// `outrider es-template`: the index template an elasticsearch sink's documents need (time as a date, `unmapped`
// flattened), printed, or installed on the sink's cluster with its credentials.
import { describe, expect, it } from 'vitest';
import { type ReceivedRequest, TestReceiver } from '../sinks/support.ts';
import { ensureBuilt, runCli } from '../support/build.ts';
import { tempDir, writeTestConfig } from '../support/outrider.ts';

interface Template {
  index_patterns: string[];
  data_stream?: object;
  priority: number;
  template: { mappings: { properties: Record<string, { type: string; format?: string }> } };
}

describe('outrider es-template', () => {
  it('prints an index template mapping time as a date and unmapped as flattened (OpenSearch: flat_object)', async () => {
    const cli = ensureBuilt();
    const es = await runCli(cli, ['es-template']);
    expect(es.code, es.stderr).toBe(0);
    const t = JSON.parse(es.stdout) as Template;
    expect(t.index_patterns).toEqual(['ocsf-*']);
    expect(t.template.mappings.properties.time).toEqual({ type: 'date', format: 'epoch_millis' });
    expect(t.template.mappings.properties['@timestamp']).toEqual({ type: 'date' });
    expect(t.template.mappings.properties.unmapped).toEqual({ type: 'flattened' });
    expect(es.stderr).toMatch(/PUT _index_template\/outrider-ocsf/);
    const os = JSON.parse(
      (await runCli(cli, ['es-template', '--opensearch', '--mode', 'data_stream'])).stdout,
    ) as Template;
    expect(os.template.mappings.properties.unmapped).toEqual({ type: 'flat_object' });
    expect(os.index_patterns).toEqual(['logs-ocsf-*']);
    expect(os.data_stream).toEqual({});
    // Above Elasticsearch's built-in logs-*-* template (priority 100).
    expect(os.priority).toBeGreaterThan(100);
  });

  it('--install PUTs the data-stream template on the sink’s cluster with its credentials', async () => {
    const cli = ensureBuilt();
    const requests: ReceivedRequest[] = [];
    const cluster = await new TestReceiver((req) => {
      requests.push(req);
      if (req.method === 'GET')
        return { status: 200, body: JSON.stringify({ version: { number: '2.17.0', distribution: 'opensearch' } }) };
      return { status: 200, body: '{"acknowledged":true}' };
    }).listen();
    const dir = tempDir();
    const config = writeTestConfig(
      {
        sources: { app: { type: 'container_logs', include: [`${dir}/none/*.log`] } },
        sinks: {
          search: {
            type: 'elasticsearch',
            inputs: ['app'],
            endpoint: cluster.url,
            mode: 'data_stream',
            data_stream: { dataset: 'ocsf.containers' },
            auth: { strategy: 'basic', user: 'outrider', password: 'pw' },
          },
        },
      },
      dir,
    );
    const r = await runCli(cli, ['es-template', '--config', config, '--install']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/installed index template outrider-ocsf-logs-ocsf.containers \(opensearch/);
    const put = requests.find((q) => q.method === 'PUT')!;
    expect(put.url).toBe('/_index_template/outrider-ocsf-logs-ocsf.containers');
    expect(put.headers.authorization).toBe(`Basic ${Buffer.from('outrider:pw').toString('base64')}`);
    const body = JSON.parse(put.body.toString()) as Template;
    expect(body.index_patterns).toEqual(['logs-ocsf.containers-*']);
    expect(body.template.mappings.properties.unmapped).toEqual({ type: 'flat_object' });
  });
});
