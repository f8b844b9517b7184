// The operator's metrics on the real pipeline: every critsvc_* metric the optional PrometheusRule
// and Grafana dashboard (deploy/monitoring/) use is exported by the running handler or watchers;
// and the per-CriticalService gauges, the time-to-fallback and outage-window histograms and the
// flap counter move as a Service goes lame, is served, recovers and goes lame again.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { pipelineHarness } from '../support/harness.ts';
import { freshNamespace, kube, suffix } from '../support/kube.ts';
import { exportedTypes, metricNames, missingMetrics } from '../support/metric-names.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  defaultPods,
  deletePod,
} from '../support/objects.ts';
import { Pipeline, PROCESSES } from '../support/pipeline.ts';
import { eventually } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const k = kube();
const h = pipelineHarness(k);

/** Every PromQL expression of the PrometheusRule and the dashboard. */
function monitoringExpressions(): { where: string; expr: string }[] {
  const rule = parse(readFileSync(join(root, 'deploy/monitoring/prometheusrule.yaml'), 'utf8')) as {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };
  const dashboard = JSON.parse(readFileSync(join(root, 'deploy/monitoring/grafana-dashboard.json'), 'utf8')) as {
    panels: { title: string; targets: { expr: string }[] }[];
  };
  return [
    ...rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ...dashboard.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel ${p.title}`, expr: t.expr }))),
  ];
}

/**
 * Prometheus's own linter, where present (CRITSVC_PROMTOOL or promtool on PATH; built with
 * `go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0`, ~15 min on 2 cores, so
 * setup does not build it).
 */
const promtool =
  process.env.CRITSVC_PROMTOOL ??
  (spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0 ? 'promtool' : undefined);

/** One sample's value from a scrape (0 when absent). */
function sample(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe('operator metrics', () => {
  it('every critsvc metric the PrometheusRule and the Grafana dashboard use is exported by the running processes', async () => {
    const ns = await freshNamespace(k, 'mon');
    h.pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: h.redis.url, templateNamespace: ns });
    const pipeline = h.pipeline;
    const types = exportedTypes(await Promise.all(PROCESSES.map((p) => pipeline.metrics(p))));
    const exprs = monitoringExpressions();
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set(exprs.flatMap((e) => metricNames(e.expr)));
    const missing = missingMetrics(used, types);
    expect(
      missing,
      `used but not exported: ${missing
        .map(
          (m) =>
            `${m} (${exprs
              .filter((e) => e.expr.includes(m))
              .map((e) => e.where)
              .join(', ')})`,
        )
        .join('; ')}`,
    ).toEqual([]);
    // The check can fail: a name nobody exports is reported.
    expect(missingMetrics(['critsvc_no_such_metric_total', 'critsvc_time_to_fallback_seconds_bucket'], types)).toEqual([
      'critsvc_no_such_metric_total',
    ]);
  });

  it.skipIf(!promtool)(
    'promtool accepts the alerting rules and, as recording rules, every dashboard expression',
    () => {
      const rule = parse(readFileSync(join(root, 'deploy/monitoring/prometheusrule.yaml'), 'utf8')) as {
        spec: { groups: unknown[] };
      };
      const dashboard = monitoringExpressions().filter((e) => e.where.startsWith('panel '));
      const dir = mkdtempSync(join(tmpdir(), 'critsvc-rules-'));
      const file = join(dir, 'rules.yaml');
      // Grafana's $__rate_interval is not PromQL: any range stands in for it.
      const recording = {
        name: 'dashboard',
        rules: dashboard.map((e, i) => ({
          record: `critsvc:dashboard_${i}`,
          expr: e.expr.replaceAll('$__rate_interval', '5m'),
        })),
      };
      writeFileSync(file, stringify({ groups: [...rule.spec.groups, recording] }));
      const res = spawnSync(promtool ?? 'promtool', ['check', 'rules', '--lint=all', file], { encoding: 'utf8' });
      expect(res.status, `${res.stdout}${res.stderr}`).toBe(0);
    },
  );

  it('gauges per CriticalService, time to fallback, outage window and flaps follow a Service through an outage', async () => {
    const ns = await freshNamespace(k, 'mon');
    await createTemplate(k, ns);
    h.pipeline = await Pipeline.start({
      namespaces: [ns],
      redisUrl: h.redis.url,
      templateNamespace: ns,
      env: { HEALTHY_GRACE_SECONDS: '0' },
    });
    const pipeline = h.pipeline;
    const crit = `mon-${suffix()}`;
    h.crits.push(crit);
    const label = `criticalservice="${crit}"`;
    await createService(k, ns, 'web', { labels: { tier: 'gold' }, selector: { app: 'web' } });
    await createService(k, ns, 'api', { labels: { tier: 'gold' }, selector: { app: 'api' } });
    await createRealPod(k, ns, 'api-1', { app: 'api' });
    await createCrit(k, crit, { namespace: ns, matchLabels: [{ key: 'tier', value: 'gold' }] });

    // web is lame: its default pod is created, then Ready (kwok).
    let text = await eventually('web served and its outage measured', async () => {
      const t = await pipeline.metrics();
      return sample(t, 'critsvc_outage_window_seconds_count') >= 1 ? t : undefined;
    });
    expect(sample(text, 'critsvc_time_to_fallback_seconds_count')).toBe(1);
    // The gauges are set with the status, written in batches (STATUS_FLUSH_MS): they follow shortly.
    text = await eventually('the gauges: 1 lame Service, 1 default pod', async () => {
      const t = await pipeline.metrics();
      return sample(t, 'critsvc_lame_services', label) === 1 && sample(t, 'critsvc_default_pods', label) === 1
        ? t
        : undefined;
    });
    expect(sample(text, 'critsvc_blocked_services', label)).toBe(0);

    // web recovers: no lame Service, no default pod.
    await createRealPod(k, ns, 'web-1', { app: 'web' });
    await eventually('web healthy, its default pod gone', async () => (await defaultPods(k, ns)).length === 0);
    text = await eventually('the gauges back to 0', async () => {
      const t = await pipeline.metrics();
      return sample(t, 'critsvc_lame_services', label) === 0 && sample(t, 'critsvc_default_pods', label) === 0
        ? t
        : undefined;
    });
    expect(sample(text, 'critsvc_flaps_total', 'kind="lame-again"')).toBe(0);

    // Lame again at once (well within the 60 s flap window): both kinds of flap are counted.
    await deletePod(k, ns, 'web-1');
    text = await eventually('the flaps counted', async () => {
      const t = await pipeline.metrics();
      return sample(t, 'critsvc_flaps_total', 'kind="recreated"') === 1 ? t : undefined;
    });
    expect(sample(text, 'critsvc_flaps_total', 'kind="lame-again"')).toBe(1);
    expect(sample(text, 'critsvc_time_to_fallback_seconds_count')).toBe(2);
    // At idle the watchers' events reached the handler on the fast path, ahead of their jobs.
    expect(sample(text, 'critsvc_fast_path_messages_total', 'result="applied"')).toBeGreaterThan(0);
    expect(sample(text, 'critsvc_fast_path_messages_total', 'result="invalid"')).toBe(0);

    // The CriticalService deleted: its series go (bounded cardinality).
    await k.custom.deleteClusterCustomObject({
      group: 'mycrd.com',
      version: 'v1',
      plural: 'criticalservices',
      name: crit,
    });
    await eventually('its series removed', async () => !(await pipeline.metrics()).includes(label));
  });
});
