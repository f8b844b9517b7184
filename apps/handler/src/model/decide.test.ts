import { describe, expect, it } from 'vitest';
import { decide, type DecideInput, type Decision } from './decide.ts';
import { crit, pod, svc } from '../../../../test/support/model-fixtures.ts';
import { listLookup } from './pod-lookup.ts';
import { MANAGED_BY_LABEL, SERVICE_LABEL, STANDBY_LABEL } from './rules.ts';
import type { InFlight, PodInfo } from './types.ts';

const frontendCrit = crit('frontend', [{ key: 'role', value: 'frontend' }]);
const ourLabels = { role: 'frontend', [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: 'frontend' };
const defaultPod = (o: Partial<PodInfo> = {}): PodInfo =>
  pod('service-watcher-frontend', ourLabels, { owned: true, owners: [owner('frontend', true)], ...o });

const none: InFlight = { creating: false, deleting: new Set(), creatingStandby: false, promoting: new Set() };

/** What a case sets: the namespace's pods as a list (looked up through listLookup, as the Store's index answers). */
type Case = Partial<DecideInput> & { podsInNamespace?: PodInfo[] };

function input(o: Case = {}): DecideInput {
  const { podsInNamespace = [], ...rest } = o;
  return {
    serviceKey: 'ns/frontend',
    service: svc('frontend'),
    crits: [frontendCrit],
    pods: listLookup(podsInNamespace),
    watched: ['ns'],
    readyOnly: true,
    podNamePrefix: 'service-watcher',
    inFlight: none,
    now: 1_000_000,
    holdOffs: { lameGraceMs: 0, healthyGraceMs: 0 },
    ...rest,
  };
}

function describe1(a: Decision['actions'][number]): string {
  if (a.type === 'create') return `create ${a.podName}`;
  if (a.type === 'owners')
    return `owners ${a.pod.name} ${a.owners.map((o) => `${o.name}${o.controller ? '*' : ''}`).join(',')}${a.stale.length ? ` -${a.stale.map((o) => o.name).join(',')}` : ''}`;
  if (a.type === 'promote') return `promote ${a.pod.name}`;
  if (a.type === 'standby') return `standby ${a.generateName}`;
  return `delete ${a.pod.name} (${a.reason})`;
}
const summary = (i: DecideInput): string[] => decide(i).actions.map(describe1);
const owner = (name: string, controller: boolean): { name: string; uid: string; controller: boolean } => ({
  name,
  uid: `uid-crit-${name}`,
  controller,
});

describe('decide', () => {
  it.each<[string, Case, string[]]>([
    ['critical lame Service → create the default pod', {}, ['create service-watcher-frontend']],
    ['critical Service with a real pod → nothing', { podsInNamespace: [pod('nginx', { role: 'frontend' })] }, []],
    [
      'real pod back → delete the default pod',
      { podsInNamespace: [pod('nginx', { role: 'frontend' }), defaultPod()] },
      ['delete service-watcher-frontend (service-healthy)'],
    ],
    ['lame with its default pod → nothing more', { podsInNamespace: [defaultPod()] }, []],
    [
      'a default pod of another Service does not make it healthy',
      {
        podsInNamespace: [
          pod(
            'service-watcher-other',
            { role: 'frontend', [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: 'other' },
            { owned: true },
          ),
        ],
      },
      ['create service-watcher-frontend'],
    ],
    [
      'terminating real pod only → lame',
      { podsInNamespace: [pod('nginx', { role: 'frontend' }, { terminating: true })] },
      ['create service-watcher-frontend'],
    ],
    [
      'Running but not Ready (a crash loop) → lame',
      { podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready: false })] },
      ['create service-watcher-frontend'],
    ],
    [
      'Pending replacement → the default pod stays (make before break)',
      {
        podsInNamespace: [
          pod('nginx', { role: 'frontend' }, { ready: false, phase: 'Pending', hasIP: false }),
          defaultPod(),
        ],
      },
      [],
    ],
    [
      'not Ready but the Service publishes not-ready addresses → healthy',
      {
        service: svc('frontend', { publishNotReady: true }),
        podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready: false })],
      },
      [],
    ],
    [
      'publishNotReadyAddresses, pod without an IP yet → lame',
      {
        service: svc('frontend', { publishNotReady: true }),
        podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready: false, phase: 'Pending', hasIP: false })],
      },
      ['create service-watcher-frontend'],
    ],
    [
      "unready pod counts in the article's literal mode (READY_PODS_ONLY=false)",
      { readyOnly: false, podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready: false })] },
      [],
    ],
    [
      "a default pod left by the article's version (annotation only) is not real and not touched",
      { podsInNamespace: [pod('service-watcher-old', { role: 'frontend' }, { legacy: true })] },
      ['create service-watcher-frontend'],
    ],
    [
      'a second CriticalService covers it → it becomes an owner too',
      { crits: [frontendCrit, crit('also', [{ key: 'role', value: 'frontend' }])], podsInNamespace: [defaultPod()] },
      ['owners service-watcher-frontend also,frontend*'],
    ],
    [
      'the controller owner no longer covers it → the other takes over, the stale one goes',
      {
        crits: [crit('also', [{ key: 'role', value: 'frontend' }])],
        podsInNamespace: [defaultPod({ owners: [owner('also', false), owner('frontend', true)] })],
      },
      ['owners service-watcher-frontend also* -frontend'],
    ],
    [
      'owners already right → nothing',
      {
        crits: [frontendCrit, crit('also', [{ key: 'role', value: 'frontend' }])],
        podsInNamespace: [defaultPod({ owners: [owner('also', false), owner('frontend', true)] })],
      },
      [],
    ],
    [
      'a CriticalService re-created under the same name (new uid) → owners follow',
      { crits: [{ ...frontendCrit, uid: 'uid-new' }], podsInNamespace: [defaultPod()] },
      ['owners service-watcher-frontend frontend* -frontend'],
    ],
    ['not critical → nothing', { crits: [] }, []],
    [
      'not critical any more → delete',
      { crits: [], podsInNamespace: [defaultPod()] },
      ['delete service-watcher-frontend (not-critical)'],
    ],
    [
      'Service gone → delete',
      { service: undefined, podsInNamespace: [defaultPod()] },
      ['delete service-watcher-frontend (service-gone)'],
    ],
    ['outside NAMESPACES → nothing', { watched: ['other'] }, []],
    ['ExternalName → nothing', { service: svc('frontend', { type: 'ExternalName' }) }, []],
    ['no selector → nothing', { service: svc('frontend', { selector: {} }) }, []],
    [
      'relabelled out of the CriticalService → delete',
      { service: svc('frontend', { labels: { role: 'other' } }), podsInNamespace: [defaultPod()] },
      ['delete service-watcher-frontend (not-critical)'],
    ],
    [
      'selector changed → the old default pod goes first',
      { service: svc('frontend', { selector: { app: 'web' } }), podsInNamespace: [defaultPod()] },
      ['delete service-watcher-frontend (selector-changed)'],
    ],
    [
      'a second default pod is removed',
      { podsInNamespace: [defaultPod(), pod('old-prefix-frontend', ourLabels, { owned: true })] },
      ['delete old-prefix-frontend (duplicate)'],
    ],
    [
      'a user pod holding the name is never touched',
      { podsInNamespace: [pod('service-watcher-frontend', { app: 'mine' })] },
      [],
    ],
    [
      'a user pod with that name that the Service selects makes it healthy',
      { podsInNamespace: [pod('service-watcher-frontend', { role: 'frontend' })] },
      [],
    ],
    ['create already in flight → no second create', { inFlight: { ...none, creating: true } }, []],
    [
      'our pod terminating, Service lame → it goes at once (force) and a new one is created under the name',
      { podsInNamespace: [defaultPod({ terminating: true })] },
      ['delete service-watcher-frontend (name-reuse)', 'create service-watcher-frontend'],
    ],
    [
      'our pod terminating, a create already in flight → nothing',
      { podsInNamespace: [defaultPod({ terminating: true })], inFlight: { ...none, creating: true } },
      [],
    ],
    [
      'our pod terminating, Service healthy → left to its grace period',
      { podsInNamespace: [pod('nginx', { role: 'frontend' }), defaultPod({ terminating: true })] },
      [],
    ],
    [
      'a delete in flight → not deleted twice',
      {
        crits: [],
        podsInNamespace: [defaultPod()],
        inFlight: { ...none, deleting: new Set(['uid-pod-service-watcher-frontend']) },
      },
      [],
    ],
  ])('%s', (_name, o, expected) => {
    expect(summary(input(o))).toEqual(expected);
  });

  describe('hot standby', () => {
    const hot = { ...frontendCrit, hotStandby: true };
    const real = pod('nginx', { role: 'frontend' });
    const warmLabels = { [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: 'frontend', [STANDBY_LABEL]: 'true' };
    const warm = (suffix: string, o: Partial<PodInfo> = {}): PodInfo =>
      pod(`service-watcher-frontend-standby-${suffix}`, warmLabels, {
        owned: true,
        standby: true,
        owners: [owner('frontend', true)],
        ...o,
      });
    /** A warm pod once promoted: the selector's labels, no standby label. */
    const promoted = pod('service-watcher-frontend-standby-abcde', ourLabels, {
      owned: true,
      owners: [owner('frontend', true)],
    });
    it.each<[string, Case, string[]]>([
      [
        'healthy, no warm pod → one is started',
        { crits: [hot], podsInNamespace: [real] },
        ['standby service-watcher-frontend-standby-'],
      ],
      ['healthy, a warm pod waits → nothing', { crits: [hot], podsInNamespace: [real, warm('abcde')] }, []],
      [
        'healthy, a warm pod asked for, not seen yet → nothing',
        { crits: [hot], podsInNamespace: [real], inFlight: { ...none, creatingStandby: true } },
        [],
      ],
      [
        'lame, a warm pod → it is promoted, nothing created',
        { crits: [hot], podsInNamespace: [warm('abcde')] },
        ['promote service-watcher-frontend-standby-abcde'],
      ],
      [
        'lame, a warm pod still starting → promoted all the same (it is ahead of a new pod)',
        { crits: [hot], podsInNamespace: [warm('abcde', { ready: false, phase: 'Pending' })] },
        ['promote service-watcher-frontend-standby-abcde'],
      ],
      [
        'lame, two warm pods → the Ready one is promoted, the other stays warm',
        { crits: [hot], podsInNamespace: [warm('aaaaa', { ready: false }), warm('bbbbb')] },
        ['promote service-watcher-frontend-standby-bbbbb'],
      ],
      [
        'lame, no warm pod → the cold create, and no warm pod yet (the create comes first)',
        { crits: [hot] },
        ['create service-watcher-frontend'],
      ],
      [
        'lame, served by its default pod → the next warm pod is started behind it',
        { crits: [hot], podsInNamespace: [defaultPod()] },
        ['standby service-watcher-frontend-standby-'],
      ],
      [
        'lame, served by a promoted warm pod → it fits (no duplicate), a new warm pod behind it',
        { crits: [hot], podsInNamespace: [promoted] },
        ['standby service-watcher-frontend-standby-'],
      ],
      [
        'a promotion sent, not seen yet → it is the default pod already: nothing created, not judged a misfit',
        {
          crits: [hot],
          podsInNamespace: [warm('abcde')],
          inFlight: { ...none, promoting: new Set(['uid-pod-service-watcher-frontend-standby-abcde']) },
        },
        ['standby service-watcher-frontend-standby-'],
      ],
      [
        'healthy again → the promoted pod goes (it is a default pod now), a new warm pod is started',
        { crits: [hot], podsInNamespace: [real, promoted] },
        [
          'delete service-watcher-frontend-standby-abcde (service-healthy)',
          'standby service-watcher-frontend-standby-',
        ],
      ],
      [
        'two warm pods → the Ready one stays',
        { crits: [hot], podsInNamespace: [real, warm('aaaaa', { ready: false }), warm('bbbbb')] },
        ['delete service-watcher-frontend-standby-aaaaa (duplicate)'],
      ],
      [
        'no CriticalService asks for it any more → the warm pod goes',
        { podsInNamespace: [real, warm('abcde')] },
        ['delete service-watcher-frontend-standby-abcde (standby-unwanted)'],
      ],
      [
        'lame, the CriticalService no longer asks for it → the warm pod there is promoted all the same (ahead of a create)',
        { podsInNamespace: [warm('abcde')] },
        ['promote service-watcher-frontend-standby-abcde'],
      ],
      [
        'not critical any more → default and warm pods go',
        { crits: [], podsInNamespace: [defaultPod(), warm('abcde')] },
        [
          'delete service-watcher-frontend (not-critical)',
          'delete service-watcher-frontend-standby-abcde (not-critical)',
        ],
      ],
      [
        'a selector naming the standby label contradicts the marks → no pod of ours serves it, the warm pod goes',
        {
          crits: [hot],
          service: svc('frontend', { selector: { [STANDBY_LABEL]: 'true' } }),
          podsInNamespace: [real, warm('abcde')],
        },
        ['delete service-watcher-frontend-standby-abcde (standby-unwanted)'],
      ],
      [
        'the selector changed to one the warm pod matches → it goes (it would serve unpromoted), a new one outside it',
        {
          crits: [hot],
          service: svc('frontend', { selector: { [SERVICE_LABEL]: 'frontend', tier: 'web' } }),
          podsInNamespace: [
            pod('nginx', { [SERVICE_LABEL]: 'frontend', tier: 'web' }),
            warm('abcde', { labels: { ...warmLabels, tier: 'web' } }),
          ],
        },
        [
          'delete service-watcher-frontend-standby-abcde (selector-changed)',
          'standby service-watcher-frontend-standby-',
        ],
      ],
      [
        "a selector of critsvc's marks only → no warm pod (it could not wait outside)",
        {
          crits: [hot],
          service: svc('frontend', { selector: { [SERVICE_LABEL]: 'frontend' } }),
          podsInNamespace: [pod('nginx', { [SERVICE_LABEL]: 'frontend' })],
        },
        [],
      ],
      [
        "the warm pod's owners follow the covering CriticalServices",
        { crits: [hot, crit('also', [{ key: 'role', value: 'frontend' }])], podsInNamespace: [real, warm('abcde')] },
        ['owners service-watcher-frontend-standby-abcde also,frontend*'],
      ],
    ])('%s', (_name, o, expected) => {
      expect(summary(input(o))).toEqual(expected);
    });

    it('status sees warm pods apart from default pods', () => {
      const d = decide(input({ crits: [hot], podsInNamespace: [defaultPod(), warm('abcde')] }));
      expect({ defaults: d.defaultPods, standbys: d.standbyPods }).toEqual({
        defaults: ['ns/service-watcher-frontend'],
        standbys: ['ns/service-watcher-frontend-standby-abcde'],
      });
    });

    it('a promotion counts against the blast-radius limits like a create', () => {
      const d = decide(
        input({
          crits: [hot],
          podsInNamespace: [warm('abcde')],
          createBlocked: () => ({ reason: 'DefaultPodLimitReached', message: 'full' }),
        }),
      );
      expect({ actions: d.actions, limited: d.limitedBy?.reason }).toEqual({
        actions: [],
        limited: 'DefaultPodLimitReached',
      });
    });
  });

  it('reports a foreign pod holding the name', () => {
    const d = decide(input({ podsInNamespace: [pod('service-watcher-frontend', { app: 'mine' })] }));
    expect(d.wanted).toBe(true);
    expect(d.nameTakenBy?.name).toBe('service-watcher-frontend');
  });

  it('the create names every covering CriticalService', () => {
    const other = crit('also', [{ key: 'role', value: 'frontend' }]);
    const [action] = decide(
      input({ crits: [frontendCrit, other, crit('unrelated', [{ key: 'role', value: 'db' }])] }),
    ).actions;
    expect(action?.type === 'create' && action.owners.map((c) => c.name)).toEqual(['frontend', 'also']);
  });

  it("reports the article's default pods the Service selects", () => {
    const d = decide(
      input({
        podsInNamespace: [
          pod('service-watcher-old', { role: 'frontend' }, { legacy: true }),
          pod('x', { role: 'other' }, { legacy: true }),
        ],
      }),
    );
    expect(d.legacy.map((p) => p.name)).toEqual(['service-watcher-old']);
  });

  it.each<[string, Record<string, string>, string | undefined, string[]]>([
    // The default pod made for an earlier selector is a misfit: it goes, and none replaces it.
    [
      'selects managed-by=helm',
      { role: 'frontend', [MANAGED_BY_LABEL]: 'helm' },
      MANAGED_BY_LABEL,
      ['delete service-watcher-frontend (selector-changed)'],
    ],
    [
      "selects another Service's default pods",
      { role: 'frontend', [SERVICE_LABEL]: 'backend' },
      SERVICE_LABEL,
      ['delete service-watcher-frontend (selector-changed)'],
    ],
    ['selects managed-by=critsvc (our own mark)', { role: 'frontend', [MANAGED_BY_LABEL]: 'critsvc' }, undefined, []],
  ])('a selector that %s', (_what, selector, conflict, actions) => {
    const d = decide(input({ service: svc('frontend', { selector }), podsInNamespace: [defaultPod()] }));
    expect(d.selectorConflict?.label).toBe(conflict);
    expect(d.actions.map(describe1)).toEqual(actions);
  });

  it('a conflicting selector never creates, so it never loops', () => {
    const d = decide(
      input({ service: svc('frontend', { selector: { role: 'frontend', [MANAGED_BY_LABEL]: 'helm' } }) }),
    );
    expect(d.actions).toEqual([]);
    expect(d.selectorConflict).toEqual({ label: MANAGED_BY_LABEL, wanted: 'helm', ours: 'critsvc' });
  });

  it('gives the same answer whatever the order of the pods (level-based)', () => {
    const pods = [pod('nginx', { role: 'frontend' }, { phase: 'Failed' }), defaultPod(), pod('x', { role: 'other' })];
    expect(summary(input({ podsInNamespace: pods }))).toEqual(summary(input({ podsInNamespace: [...pods].reverse() })));
  });
});

describe('hold-offs', () => {
  const realPod = pod('nginx', { role: 'frontend' });
  const holdOffs = { lameGraceMs: 2_000, healthyGraceMs: 5_000 };

  it('a healthy Service keeps its default pod until real pods have served it for HEALTHY_GRACE', () => {
    const first = decide(
      input({ holdOffs, podsInNamespace: [realPod, defaultPod()], spell: { lame: true, since: 0 } }),
    );
    expect(first.actions).toEqual([]);
    expect(first.spell).toEqual({ lame: false, since: 1_000_000 });
    expect(first.requeueAfterMs).toBe(5_000);
    const later = decide(
      input({ holdOffs, podsInNamespace: [realPod, defaultPod()], spell: first.spell, now: 1_004_000 }),
    );
    expect(later.actions).toEqual([]);
    expect(later.requeueAfterMs).toBe(1_000);
    const done = decide(
      input({ holdOffs, podsInNamespace: [realPod, defaultPod()], spell: first.spell, now: 1_005_000 }),
    );
    expect(done.actions.map(describe1)).toEqual(['delete service-watcher-frontend (service-healthy)']);
  });

  it('a readiness flip restarts the healthy count: flapping keeps the one default pod', () => {
    let spell = { lame: true, since: 0 };
    let deletes = 0;
    let creates = 0;
    // 20 flips in 10 s: Ready for 500 ms, not Ready for 500 ms.
    for (let t = 0; t < 10_000; t += 500) {
      const ready = (t / 500) % 2 === 0;
      const d = decide(
        input({
          holdOffs,
          now: 1_000_000 + t,
          spell,
          podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready }), defaultPod()],
        }),
      );
      spell = d.spell ?? spell;
      deletes += d.actions.filter((a) => a.type === 'delete').length;
      creates += d.actions.filter((a) => a.type === 'create').length;
    }
    expect({ creates, deletes }).toEqual({ creates: 0, deletes: 0 });
  });

  it('LAME_GRACE delays the create and asks to decide again when it ends', () => {
    const d = decide(input({ holdOffs, spell: { lame: false, since: 0 } }));
    expect(d.actions).toEqual([]);
    expect(d.wanted).toBe(true);
    expect(d.requeueAfterMs).toBe(2_000);
    expect(summary(input({ holdOffs, spell: d.spell, now: 1_002_000 }))).toEqual(['create service-watcher-frontend']);
  });

  it('no hold-off when the Service stops being critical or is deleted', () => {
    expect(
      summary(input({ holdOffs, crits: [], podsInNamespace: [defaultPod()], spell: { lame: true, since: 999_999 } })),
    ).toEqual(['delete service-watcher-frontend (not-critical)']);
    expect(summary(input({ holdOffs, service: undefined, podsInNamespace: [defaultPod()] }))).toEqual([
      'delete service-watcher-frontend (service-gone)',
    ]);
  });
});

describe('blast-radius limits', () => {
  const limited = { reason: 'DefaultPodLimitReached' as const, message: 'limit' };

  it('a create that the limits forbid is not made; the Service is reported as limited', () => {
    const d = decide(input({ createBlocked: () => limited }));
    expect(d.actions).toEqual([]);
    expect(d.wanted).toBe(true);
    expect(d.limitedBy).toEqual(limited);
  });

  it('the limits are asked only when a create is due: a kept default pod, a healthy Service or a create in flight are not limited', () => {
    let asked = 0;
    const createBlocked = (): undefined => void asked++;
    decide(input({ createBlocked, podsInNamespace: [defaultPod()] }));
    decide(input({ createBlocked, podsInNamespace: [pod('nginx', { role: 'frontend' })] }));
    decide(input({ createBlocked, inFlight: { ...none, creating: true } }));
    decide(input({ createBlocked, podsInNamespace: [pod('service-watcher-frontend', { app: 'mine' })] }));
    expect(asked).toBe(0);
    expect(summary(input({ createBlocked }))).toEqual(['create service-watcher-frontend']);
    expect(asked).toBe(1);
  });

  it('a limited Service keeps its deletes of misfits (they lower the count)', () => {
    const d = decide(
      input({
        createBlocked: () => limited,
        service: svc('frontend', { selector: { app: 'web' } }),
        podsInNamespace: [defaultPod({ labels: ourLabels })],
      }),
    );
    expect(d.actions.map(describe1)).toEqual(['delete service-watcher-frontend (selector-changed)']);
  });
});
