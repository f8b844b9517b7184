import { describe, expect, it } from 'vitest';
import { decide, type DecideInput } from './decide.ts';
import { crit, pod, svc } from './fixtures.ts';
import { MANAGED_BY_LABEL, SERVICE_LABEL } from './rules.ts';
import type { PodInfo } from './types.ts';

const frontendCrit = crit('frontend', [{ key: 'role', value: 'frontend' }]);
const ourLabels = { role: 'frontend', [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: 'frontend' };
const defaultPod = (o: Partial<PodInfo> = {}): PodInfo => pod('service-watcher-frontend', ourLabels, { owned: true, ...o });

function input(o: Partial<DecideInput> = {}): DecideInput {
  return {
    serviceKey: 'ns/frontend', service: svc('frontend'), crits: [frontendCrit], podsInNamespace: [],
    watched: ['ns'], readyOnly: false, podNamePrefix: 'service-watcher',
    inFlight: { creating: false, deleting: new Set() }, ...o,
  };
}

const summary = (i: DecideInput): string[] =>
  decide(i).actions.map((a) => (a.type === 'create' ? `create ${a.podName}` : `delete ${a.pod.name} (${a.reason})`));

describe('decide', () => {
  it.each<[string, Partial<DecideInput>, string[]]>([
    ['critical lame Service → create the default pod', {}, ['create service-watcher-frontend']],
    ['critical Service with a real pod → nothing', { podsInNamespace: [pod('nginx', { role: 'frontend' })] }, []],
    ['real pod back → delete the default pod', { podsInNamespace: [pod('nginx', { role: 'frontend' }), defaultPod()] },
      ['delete service-watcher-frontend (service-healthy)']],
    ['lame with its default pod → nothing more', { podsInNamespace: [defaultPod()] }, []],
    ['a default pod of another Service does not make it healthy',
      { podsInNamespace: [pod('service-watcher-other', { role: 'frontend', [MANAGED_BY_LABEL]: 'critsvc', [SERVICE_LABEL]: 'other' }, { owned: true })] },
      ['create service-watcher-frontend']],
    ['terminating real pod only → lame', { podsInNamespace: [pod('nginx', { role: 'frontend' }, { terminating: true })] },
      ['create service-watcher-frontend']],
    ['unready pod counts by default', { podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready: false })] }, []],
    ['unready pod does not count when READY_PODS_ONLY', { readyOnly: true, podsInNamespace: [pod('nginx', { role: 'frontend' }, { ready: false })] },
      ['create service-watcher-frontend']],
    ['not critical → nothing', { crits: [] }, []],
    ['not critical any more → delete', { crits: [], podsInNamespace: [defaultPod()] }, ['delete service-watcher-frontend (not-critical)']],
    ['Service gone → delete', { service: undefined, podsInNamespace: [defaultPod()] }, ['delete service-watcher-frontend (service-gone)']],
    ['outside NAMESPACES → nothing', { watched: ['other'] }, []],
    ['ExternalName → nothing', { service: svc('frontend', { type: 'ExternalName' }) }, []],
    ['no selector → nothing', { service: svc('frontend', { selector: {} }) }, []],
    ['relabelled out of the CriticalService → delete', { service: svc('frontend', { labels: { role: 'other' } }), podsInNamespace: [defaultPod()] },
      ['delete service-watcher-frontend (not-critical)']],
    ['selector changed → the old default pod goes first',
      { service: svc('frontend', { selector: { app: 'web' } }), podsInNamespace: [defaultPod()] },
      ['delete service-watcher-frontend (selector-changed)']],
    ['a second default pod is removed', { podsInNamespace: [defaultPod(), pod('old-prefix-frontend', ourLabels, { owned: true })] },
      ['delete old-prefix-frontend (duplicate)']],
    ['a user pod holding the name is never touched', { podsInNamespace: [pod('service-watcher-frontend', { app: 'mine' })] }, []],
    ['a user pod with that name that the Service selects makes it healthy',
      { podsInNamespace: [pod('service-watcher-frontend', { role: 'frontend' })] }, []],
    ['create already in flight → no second create', { inFlight: { creating: true, deleting: new Set() } }, []],
    ['our pod terminating → wait for it to go', { podsInNamespace: [defaultPod({ terminating: true })] }, []],
    ['a delete in flight → not deleted twice', { crits: [], podsInNamespace: [defaultPod()], inFlight: { creating: false, deleting: new Set(['uid-pod-service-watcher-frontend']) } }, []],
  ])('%s', (_name, o, expected) => {
    expect(summary(input(o))).toEqual(expected);
  });

  it('reports a foreign pod holding the name', () => {
    const d = decide(input({ podsInNamespace: [pod('service-watcher-frontend', { app: 'mine' })] }));
    expect(d.wanted).toBe(true);
    expect(d.nameTakenBy?.name).toBe('service-watcher-frontend');
  });

  it('the create names every covering CriticalService', () => {
    const other = crit('also', [{ key: 'role', value: 'frontend' }]);
    const [action] = decide(input({ crits: [frontendCrit, other, crit('unrelated', [{ key: 'role', value: 'db' }])] })).actions;
    expect(action?.type === 'create' && action.owners.map((c) => c.name)).toEqual(['frontend', 'also']);
  });

  it('gives the same answer whatever the order of the pods (level-based)', () => {
    const pods = [pod('nginx', { role: 'frontend' }, { phase: 'Failed' }), defaultPod(), pod('x', { role: 'other' })];
    expect(summary(input({ podsInNamespace: pods }))).toEqual(summary(input({ podsInNamespace: [...pods].reverse() })));
  });
});
