import { describe, expect, it } from 'vitest';
import { crit, pod, svc } from '../../../../test/support/model-fixtures.ts';
import { MANAGED_BY_LABEL, SERVICE_LABEL } from './rules.ts';
import type { Blocked } from './reasons.ts';
import { computeStatus, STATUS_LIST_CAP, withTransitionTimes, type StatusInput } from './status.ts';
import type { PodInfo, ServiceInfo } from './types.ts';

const gold = crit('gold', [{ key: 'tier', value: 'gold' }]);
const goldSvc = (name: string, o: Partial<ServiceInfo> = {}): ServiceInfo =>
  svc(name, { labels: { tier: 'gold' }, selector: { app: name }, ...o });
const realPod = (app: string): PodInfo => pod(`${app}-1`, { app });
const defaultPodFor = (name: string): PodInfo =>
  pod(`service-watcher-${name}`, { app: name, [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: name }, { owned: true });

function status(
  services: ServiceInfo[],
  pods: PodInfo[],
  o: Partial<StatusInput> = {},
): ReturnType<typeof computeStatus> {
  return computeStatus({ crit: gold, services, podsIn: () => pods, watched: ['ns'], readyOnly: true, ...o });
}
const ready = (s: ReturnType<typeof computeStatus>): string => {
  const c = s.conditions.find((x) => x.type === 'Ready');
  return `${c?.status} ${c?.reason}`;
};

describe('CriticalService status', () => {
  it.each<
    [
      string,
      ServiceInfo[],
      PodInfo[],
      Partial<StatusInput>,
      string,
      { lame: number; defaults: number; blocked: number },
    ]
  >([
    ['nothing covered', [], [], {}, 'True AllServicesBacked', { lame: 0, defaults: 0, blocked: 0 }],
    [
      'covered and healthy',
      [goldSvc('a')],
      [realPod('a')],
      {},
      'True AllServicesBacked',
      { lame: 0, defaults: 0, blocked: 0 },
    ],
    [
      'lame, served by its default pod',
      [goldSvc('a')],
      [defaultPodFor('a')],
      {},
      'True AllServicesBacked',
      { lame: 1, defaults: 1, blocked: 0 },
    ],
    [
      'lame, no default pod yet',
      [goldSvc('a')],
      [],
      {},
      'False ServicesWithoutPod',
      { lame: 1, defaults: 0, blocked: 0 },
    ],
    [
      'lame and blocked',
      [goldSvc('a')],
      [],
      { blocked: () => ({ reason: 'DefaultPodRefused' as const, message: 'exceeded quota' }) },
      'False DefaultPodsBlocked',
      { lame: 1, defaults: 0, blocked: 1 },
    ],
    [
      'blocked but served after all: not blocked',
      [goldSvc('a')],
      [defaultPodFor('a')],
      { blocked: () => ({ reason: 'DefaultPodNameTaken' as const, message: 'y' }) },
      'True AllServicesBacked',
      { lame: 1, defaults: 1, blocked: 0 },
    ],
    [
      'not covered (other labels)',
      [svc('a', { labels: { tier: 'silver' } })],
      [],
      {},
      'True AllServicesBacked',
      { lame: 0, defaults: 0, blocked: 0 },
    ],
    [
      'namespace not watched',
      [goldSvc('a', { namespace: 'other', key: 'other/a' })],
      [],
      {},
      'True AllServicesBacked',
      { lame: 0, defaults: 0, blocked: 0 },
    ],
  ])('%s', (_what, services, pods, o, expected, counts) => {
    const s = status(services, pods, o);
    expect(ready(s)).toBe(expected);
    expect({ lame: s.lameCount, defaults: s.defaultPodCount, blocked: s.blockedCount }).toEqual(counts);
  });

  it("takes the controller's verdicts where it has them and reads no pod for those; reads the pods of Services not decided yet", () => {
    const read: string[] = [];
    const s = computeStatus({
      crit: gold,
      services: [goldSvc('a'), goldSvc('b')],
      watched: ['ns'],
      readyOnly: true,
      podsIn: (ns) => {
        read.push(ns);
        return [realPod('a')];
      },
      decided: (key) => (key === 'ns/b' ? { lame: true, defaults: ['ns/service-watcher-b'], standbys: [] } : undefined),
    });
    expect({ lame: s.lameServices, defaults: s.defaultPods, reads: read.length }).toEqual({
      lame: ['ns/b'],
      defaults: ['ns/service-watcher-b'],
      reads: 1,
    });
  });

  it('a Service held back by the blast-radius limits: listed blocked with its reason, and a WithinDefaultPodLimits=False condition', () => {
    const limited = { reason: 'DefaultPodLimitReached' as const, message: 'MAX_DEFAULT_PODS is 1' };
    const s = status([goldSvc('a'), goldSvc('b')], [defaultPodFor('a')], {
      blocked: (key) => (key === 'ns/b' ? limited : undefined),
    });
    expect(ready(s)).toBe('False DefaultPodsBlocked');
    expect(s.blockedServices).toEqual([{ service: 'ns/b', ...limited }]);
    const c = s.conditions.find((x) => x.type === 'WithinDefaultPodLimits');
    expect(c).toMatchObject({ status: 'False', reason: 'DefaultPodLimitReached' });
    expect(c?.message).toContain('ns/b: MAX_DEFAULT_PODS is 1');
    expect(status([goldSvc('a')], [defaultPodFor('a')]).conditions.map((x) => x.type)).not.toContain(
      'WithinDefaultPodLimits',
    );
  });

  it('an invalid spec and an unwatched namespace say so', () => {
    expect(
      ready(
        computeStatus({
          crit: { ...gold, problems: ['spec.matchLabels must be a list'] },
          services: [],
          podsIn: () => [],
          watched: ['ns'],
          readyOnly: true,
        }),
      ),
    ).toBe('False InvalidSpec');
    const s = computeStatus({
      crit: { ...gold, namespace: 'elsewhere' },
      services: [],
      podsIn: () => [],
      watched: ['ns'],
      readyOnly: true,
    });
    expect(ready(s)).toBe('False NamespaceNotWatched');
    expect(s.unwatchedNamespace).toBe('elsewhere');
  });

  it.each<[string, string | undefined, [string, string][], string | undefined]>([
    ['a namespace it covers could not be listed', 'ns', [['ns', 'pods is forbidden']], 'False NamespaceNotListed'],
    ['another namespace could not be listed', 'ns', [['other', 'pods is forbidden']], undefined],
    [
      'any namespace, for a CriticalService of every namespace',
      undefined,
      [['other', 'pods is forbidden']],
      'False NamespaceNotListed',
    ],
    [
      'all namespaces (NAMESPACES empty) could not be listed',
      'ns',
      [['', 'pods is forbidden']],
      'False NamespaceNotListed',
    ],
  ])('NamespaceWatched: %s', (_what, namespace, unlisted, expected) => {
    const c = { ...gold, ...(namespace !== undefined ? { namespace } : {}) };
    const s = computeStatus({
      crit: c,
      services: [],
      podsIn: () => [],
      watched: ['ns', 'other'],
      readyOnly: true,
      unlisted: new Map(unlisted),
    });
    const w = s.conditions.find((x) => x.type === 'NamespaceWatched');
    expect(w ? `${w.status} ${w.reason}` : undefined).toBe(expected);
    if (w) expect(w.message).toContain('pods is forbidden');
    expect(ready(s)).toBe(expected ?? 'True AllServicesBacked');
  });

  it('the template problem is its own condition', () => {
    const s = status([goldSvc('a')], [], { templateProblem: 'PodTemplate ns/t not found' });
    expect(s.conditions.find((c) => c.type === 'TemplateAvailable')).toMatchObject({
      status: 'False',
      message: 'PodTemplate ns/t not found',
    });
  });

  it(`lists stop at ${STATUS_LIST_CAP}; the counts keep the totals; the order never depends on iteration`, () => {
    const services = Array.from({ length: 120 }, (_, i) => goldSvc(`s${String(i).padStart(3, '0')}`));
    const pods = services.slice(0, 70).map((s) => defaultPodFor(s.name));
    const blocked = (key: string): Blocked | undefined => ({ reason: 'DefaultPodRefused', message: `no ${key}` });
    const s = status(services, pods, { blocked });
    expect([
      s.lameCount,
      s.lameServices.length,
      s.defaultPodCount,
      s.defaultPods.length,
      s.blockedCount,
      s.blockedServices.length,
    ]).toEqual([120, 50, 70, 50, 50, 50]);
    expect(JSON.stringify(status([...services].reverse(), [...pods].reverse(), { blocked }))).toBe(JSON.stringify(s));
  });

  it("lastTransitionTime moves only when a condition's status changes", () => {
    const prev = [
      {
        type: 'Ready',
        status: 'True' as const,
        reason: 'AllServicesBacked',
        message: 'm',
        lastTransitionTime: '2026-01-01T00:00:00Z',
      },
    ];
    const same = withTransitionTimes(
      [{ type: 'Ready', status: 'True', reason: 'AllServicesBacked', message: 'other message' }],
      prev,
      'now',
    );
    const flipped = withTransitionTimes(
      [{ type: 'Ready', status: 'False', reason: 'ServicesWithoutPod', message: 'm' }],
      prev,
      'now',
    );
    const fresh = withTransitionTimes(
      [{ type: 'Valid', status: 'True', reason: 'SpecValid', message: 'm' }],
      prev,
      'now',
    );
    expect([same[0]?.lastTransitionTime, flipped[0]?.lastTransitionTime, fresh[0]?.lastTransitionTime]).toEqual([
      '2026-01-01T00:00:00Z',
      'now',
      'now',
    ]);
  });
});
