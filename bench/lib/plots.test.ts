import { describe, expect, it } from 'vitest';
import { plots, type PlotInput } from './plots.ts';
import type { Summary } from './stats.ts';

const s = (p50: number, p95: number, p99: number, max: number, n = 100): Summary => ({ n, p50, p95, p99, max });
const machine = { cores: 2, cpu: 'AMD EPYC', memoryGiB: 24 };

/** The points a line chart drew (Vega renders each as a path in a symbol mark group). */
function points(svg: string): number {
  return [...svg.matchAll(/<g class="mark-symbol role-mark[^"]*"[^>]*>(.*?)<\/g>/gs)].reduce(
    (n, m) => n + (m[1]?.match(/<path /g)?.length ?? 0),
    0,
  );
}

describe('bench plots', () => {
  it('the idle failover: every percentile of critsvc and of both floors, for each run, with what was measured in the title', async () => {
    const round = {
      critsvc: {
        failover: s(13.5, 32.7, 46.4, 50.2),
        recovery: s(1930, 1957, 1970, 1995),
        outage: { window: s(35.6, 53.7, 58.4, 58.4, 40), gapMaxMs: 0, gapTrials: 0 },
        stages: {},
      },
      floor: { failover: s(5.8, 12, 14.3, 16.1) },
      floorClientNode: { failover: s(13.6, 22.5, 26.6, 58.9) },
    };
    const input = { date: '2026-12-07T19:22:45Z', machine, idle: { rounds: [round, round], median: {} } } as PlotInput;
    const [failover, ...rest] = await plots(input);
    expect(rest).toEqual([]);
    expect(failover?.name).toBe('failover');
    const svg = failover?.svg ?? '';
    expect(svg.startsWith('<svg')).toBe(true);
    for (const text of [
      'Idle failover',
      '2026-12-07, 2 cores AMD EPYC, 100 trials per run',
      'critsvc',
      'floor: a bare reactor',
      'floor through client-node',
      'p99',
      'run 2',
    ])
      expect(svg).toContain(text);
    expect(points(svg)).toBe(3 * 4 * 2);
  });

  it('cold vs hot standby, and the curve without the steps that failed', async () => {
    const run = {
      cold: { window: s(2117, 2128, 2136, 2136, 20), gapMaxMs: 0, gapTrials: 0 },
      hot: { window: s(25.9, 106.6, 109.6, 109.6, 20), gapMaxMs: 0, gapTrials: 0 },
    };
    const step = (pods: number, error?: string) => ({
      pods,
      services: pods / 2,
      populateS: 1,
      handlerReadyS: pods / 10_000,
      watchersReadyS: pods / 8_000,
      drainedS: pods / 5_000,
      rss: { handler: 100 + pods / 1_000, 'watcher-pods': 120 },
      handlerHeapMb: 50,
      redisMb: 4,
      ...(error ? { error } : {}),
    });
    const input: PlotInput = {
      date: '2026-12-05T10:00:00Z',
      machine,
      standby: { startDelay: '2s', runs: [run], median: { coldP50: 2117, coldP99: 2136, hotP50: 25.9, hotP99: 109.6 } },
      curve: [step(20_000), step(50_000), step(150_000, 'handler OOM')],
    };
    const out = await plots(input);
    expect(out.map((p) => p.name)).toEqual(['standby', 'curve']);
    const [standby, curve] = out;
    expect(standby?.svg).toContain('hot standby: warm pod promoted');
    expect(standby?.svg).toContain('default pods take 2s to start, 20 trials per run');
    expect(points(standby?.svg ?? '')).toBe(2 * 4);
    // Two steps plotted: RSS of two processes, three start times, at each.
    expect(points(curve?.svg ?? '')).toBe(2 * 2 + 3 * 2);
    expect(curve?.svg).toContain('watchers ready');
    expect(curve?.svg).not.toContain('150,000');
  });

  it('nothing to plot: no plot', async () => {
    expect(await plots({ date: '2026-12-05T10:00:00Z', machine, curve: [] })).toEqual([]);
  });
});
