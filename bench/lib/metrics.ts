// What the bench reads off critsvc's processes and Redis: readiness, Prometheus metrics and
// histograms from each process's /metrics, RSS from /proc.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import type { App } from '../../scripts/run/supervisor.ts';

export type Histogram = Record<string, { sum: number; count: number }>;

export async function ready(port: number): Promise<boolean> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/readyz`)).ok;
  } catch {
    return false;
  }
}

/** A histogram's sum and count per label value (one label, or none: key ''). */
export async function histogram(port: number, name: string): Promise<Histogram> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Histogram = {};
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}_(sum|count)(?:\\{[a-z_]+="([^"]*)"\\})? (\\S+)$`).exec(line);
    if (!m) continue;
    const entry = (out[m[2] ?? ''] ??= { sum: 0, count: 0 });
    entry[m[1] as 'sum' | 'count'] = Number(m[3]);
  }
  return out;
}

/** Mean per label value over what was observed between two scrapes, in ms. */
export function meansMs(before: Histogram, after: Histogram): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after).map(([k, a]) => {
      const b = before[k] ?? { sum: 0, count: 0 };
      return [k, a.count > b.count ? ((a.sum - b.sum) / (a.count - b.count)) * 1000 : NaN];
    }),
  );
}

/** The failover's stage histograms: the handler's, and watcher-pods' watch → Redis. */
export async function stageScrape(ports: Record<App, number>): Promise<{ handler: Histogram; watcher: Histogram }> {
  return {
    handler: await histogram(ports.handler, 'critsvc_failover_stage_seconds'),
    watcher: await histogram(ports['watcher-pods'], 'critsvc_watch_to_queue_seconds'),
  };
}

/** The sum of a metric's samples (those whose labels include `labels`). */
export async function metric(port: number, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) {
      if (labels && !line.includes(labels)) continue;
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return sum;
}

/** The results of `critsvc_fast_path_messages_total`. */
export const FAST_PATH_RESULTS = ['applied', 'known', 'skipped', 'invalid'] as const;

/** The handler's fast-path messages so far, by result. */
export async function fastPathCounts(port: number): Promise<Record<string, number>> {
  return Object.fromEntries(
    await Promise.all(
      FAST_PATH_RESULTS.map(
        async (r) => [r, await metric(port, 'critsvc_fast_path_messages_total', `result="${r}"`)] as const,
      ),
    ),
  );
}

export function rssMb(pid: number | undefined): number {
  if (!pid) return NaN;
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

export async function redisMemoryMb(url: string): Promise<number> {
  const r = new Redis(url);
  const info = await r.info('memory');
  r.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? NaN) / 1024 / 1024;
}
