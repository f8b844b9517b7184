// The queue dashboard against a running pipeline, in a real headless Chromium: the queue and a
// real job, listed by its object (`Service ADDED ns/name`), with its payload are on the page; the
// throughput chart has the handler's per-minute counts; it is read-only by default; basic auth works.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshNamespace, kube } from '../support/kube.ts';
import { createService, createTemplate } from '../support/objects.ts';
import { ensureCrd, Pipeline } from '../support/pipeline.ts';
import { TestRedis } from '../support/redis.ts';
import { eventually } from '../support/wait.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const artifacts = join(root, 'test/artifacts');
const k = kube();
let redis: TestRedis;
let pipeline: Pipeline;
let browser: Browser;
const dashboards: ChildProcess[] = [];
let ns: string;

async function startDashboard(env: Record<string, string> = {}): Promise<number> {
  const child = spawn(process.execPath, [join(root, 'apps/dashboard/src/main.ts')], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: redis.url,
      QUEUE_NAME: pipeline.queue,
      DASHBOARD_PORT: '0',
      DASHBOARD_HOST: '127.0.0.1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  dashboards.push(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  return eventually('dashboard port', async () => Number(/"port":(\d+)/.exec(out)?.[1]) || undefined);
}

beforeAll(async () => {
  redis = await TestRedis.start();
  await ensureCrd(k); // watcher-crds is ready only once the CRD exists (a fresh cluster has none)
  ns = await freshNamespace(k, 'dash');
  await createTemplate(k, ns);
  pipeline = await Pipeline.start({ namespaces: [ns], redisUrl: redis.url, templateNamespace: ns });
  await createService(k, ns, 'checkout-api', { labels: { tier: 'gold' } });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  for (const d of dashboards) d.kill('SIGTERM');
  await pipeline?.stop();
  await redis?.stop();
});

describe('queue dashboard', () => {
  it('shows the queue and a real job with its payload', async () => {
    const port = await startDashboard();
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    mkdirSync(artifacts, { recursive: true });
    try {
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.getByText(pipeline.queue).first().waitFor({ timeout: 15_000 });
      await page.goto(`http://127.0.0.1:${port}/queue/${encodeURIComponent(pipeline.queue)}?status=completed`);
      // The Service created above travelled as a job, listed by its object; its payload (unfolded) names it.
      await page.getByText(`Service ADDED ${ns}/checkout-api`, { exact: true }).first().waitFor({ timeout: 15_000 });
      // Unfold the payloads' JSON trees (bull-board shows nested objects folded).
      const folded = page.locator('[aria-label="expand JSON"][aria-expanded="false"]');
      for (let i = 0; i < 50 && (await folded.count()) > 0; i++) await folded.first().click();
      await page.getByText('"checkout-api"').first().waitFor({ timeout: 15_000 });
      expect(await page.content()).toContain('checkout-api');
    } finally {
      // Kept for a person to look at (and to see what went wrong when it fails).
      await page.screenshot({ path: join(artifacts, 'dashboard.png'), fullPage: false });
    }
    await page.close();
  });

  it("shows the throughput the handler's Worker records", async () => {
    const port = await startDashboard();
    // The API the chart reads: BullMQ's completed count (and per-minute points, one a minute),
    // kept by the handler's Worker only when its `metrics` option is set.
    await eventually('completed jobs counted', async () => {
      const res = await fetch(`http://127.0.0.1:${port}/api/queues/${encodeURIComponent(pipeline.queue)}/metrics`);
      const body = (await res.json()) as { completed: { meta: { count: number } } | null };
      return (body.completed?.meta.count ?? 0) > 0;
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      await page.goto(`http://127.0.0.1:${port}/queue/${encodeURIComponent(pipeline.queue)}`);
      await page.getByText('Throughput (jobs / min)').first().waitFor({ timeout: 15_000 });
      expect(await page.getByText('No metrics collected yet', { exact: false }).count()).toBe(0);
    } finally {
      await page.screenshot({ path: join(artifacts, 'dashboard-throughput.png'), fullPage: false });
    }
    await page.close();
  });

  it('is read-only by default: queue actions are refused', async () => {
    const port = await startDashboard();
    const res = await fetch(`http://127.0.0.1:${port}/api/queues/${encodeURIComponent(pipeline.queue)}/pause`, {
      method: 'PUT',
    });
    expect(res.status).toBe(405);
    const clean = await fetch(
      `http://127.0.0.1:${port}/api/queues/${encodeURIComponent(pipeline.queue)}/clean/completed`,
      { method: 'PUT' },
    );
    expect(clean.status).toBe(405);
  });

  it('asks for basic auth when a user is configured', async () => {
    const port = await startDashboard({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 's3cret' });
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(401);
    expect(
      (
        await fetch(`http://127.0.0.1:${port}/`, {
          headers: { authorization: `Basic ${Buffer.from('ops:wrong').toString('base64')}` },
        })
      ).status,
    ).toBe(401);
    expect(
      (
        await fetch(`http://127.0.0.1:${port}/`, {
          headers: { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` },
        })
      ).status,
    ).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200); // probes stay open
  });
});
