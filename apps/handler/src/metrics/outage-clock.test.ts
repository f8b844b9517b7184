// The outage clock's measures and flap rules, on a registry of the real metrics and a fake clock.
import { describe, expect, it } from 'vitest';
import { MANAGED_BY_LABEL, SERVICE_LABEL } from '../model/rules.ts';
import { handlerMetrics } from './metrics.ts';
import { FLAP_WINDOW_MS, OutageClock } from './outage-clock.ts';
import { pod } from '../../../../test/support/model-fixtures.ts';

function setUp() {
  const metrics = handlerMetrics();
  const t = { now: 1_000_000 };
  const clock = new OutageClock(metrics, () => t.now);
  const value = async (name: string, labels = ''): Promise<number> => {
    const text = await metrics.registry.getSingleMetricAsString(name.replace(/_(sum|count)$/, ''));
    return Number(new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ''} ([\\d.]+)$`, 'm').exec(text)?.[1] ?? 0);
  };
  return { clock, t, value };
}
const defaultPod = (ready: boolean) =>
  pod('service-watcher-web', { [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: 'web' }, { owned: true, ready });

describe('OutageClock', () => {
  it('time to fallback and outage window count from the event that made the Service lame', async () => {
    const { clock, t, value } = setUp();
    t.now += 300; // the decision comes 300 ms after the watcher saw the event
    clock.decided('ns/web', true, 1_000_000);
    t.now += 200;
    clock.created('ns/web');
    expect(await value('critsvc_time_to_fallback_seconds_sum')).toBeCloseTo(0.5);
    clock.podChanged(undefined, defaultPod(false), 1_000_600);
    clock.podChanged(defaultPod(false), defaultPod(true), 1_002_000);
    clock.podChanged(defaultPod(true), defaultPod(true), 1_003_000); // still Ready: not again
    expect(await value('critsvc_outage_window_seconds_count')).toBe(1);
    expect(await value('critsvc_outage_window_seconds_sum')).toBeCloseTo(2);
    // Still lame at the next decision: the outage is the same one.
    clock.decided('ns/web', true, 1_005_000);
    clock.created('ns/web');
    expect(await value('critsvc_time_to_fallback_seconds_count')).toBe(2);
    expect(await value('critsvc_time_to_fallback_seconds_sum')).toBeCloseTo(1.0);
  });

  it('lame again within the flap window is a flap; later is not', async () => {
    const { clock, t, value } = setUp();
    clock.decided('ns/web', true, undefined);
    clock.decided('ns/web', false, undefined);
    t.now += FLAP_WINDOW_MS - 1;
    clock.decided('ns/web', true, undefined);
    expect(await value('critsvc_flaps_total', 'kind="lame-again"')).toBe(1);
    clock.decided('ns/web', false, undefined);
    t.now += FLAP_WINDOW_MS + 1;
    clock.decided('ns/web', true, undefined);
    expect(await value('critsvc_flaps_total', 'kind="lame-again"')).toBe(1);
  });

  it('a default pod created again within the window of its deletion is a flap', async () => {
    const { clock, t, value } = setUp();
    clock.created('ns/web'); // the first: no flap
    clock.deleted('ns/web');
    t.now += 10_000;
    clock.created('ns/web');
    expect(await value('critsvc_flaps_total', 'kind="recreated"')).toBe(1);
    clock.deleted('ns/web');
    t.now += FLAP_WINDOW_MS + 1;
    clock.created('ns/web');
    expect(await value('critsvc_flaps_total', 'kind="recreated"')).toBe(1);
  });

  it('a healthy or not-critical Service, or one forgotten, has no outage to time', async () => {
    const { clock, value } = setUp();
    clock.decided('ns/web', false, undefined);
    clock.created('ns/web');
    clock.podChanged(undefined, defaultPod(true), 1_000_000);
    clock.decided('ns/web', true, undefined);
    clock.forget('ns/web');
    clock.podChanged(defaultPod(false), defaultPod(true), 1_000_000);
    expect(await value('critsvc_time_to_fallback_seconds_count')).toBe(0);
    expect(await value('critsvc_outage_window_seconds_count')).toBe(0);
  });
});
