import { createLogger, type KubeObject } from '@critsvc/shared';
import { describe, expect, it } from 'vitest';
import { crit } from '../../../../test/support/model-fixtures.ts';
import type { TemplateRef } from '../model/types.ts';
import { Templates, type WatchTemplate } from './template-watch.ts';

type On = Parameters<WatchTemplate>[1];
const global = { namespace: 'linux-mag', name: 'page' };
const spec = { containers: [{ name: 'page', image: 'nginx' }] };
const object = (ref: TemplateRef, rv: string, s: unknown = spec): KubeObject =>
  ({
    metadata: { namespace: ref.namespace, name: ref.name, resourceVersion: rv },
    template: { spec: s },
  }) as KubeObject;

function setup(): {
  templates: Templates;
  watches: Map<string, { on: On; stopped: boolean }>;
  changes: [string, boolean][];
} {
  const watches = new Map<string, { on: On; stopped: boolean }>();
  const changes: [string, boolean][] = [];
  const templates = new Templates({
    global,
    log: createLogger('silent', 'test'),
    changed: (ref, usable) => changes.push([`${ref.namespace}/${ref.name}`, usable]),
    watch: (ref, on) => {
      const w = { on, stopped: false };
      watches.set(`${ref.namespace}/${ref.name}`, w);
      return {
        start: () => undefined,
        stop: async () => {
          w.stopped = true;
        },
      };
    },
  });
  return { templates, watches, changes };
}

const listed = (on: On, ref: TemplateRef, rv: string, s?: unknown): void => {
  on.push({ kind: 'PodTemplate', type: 'ADDED', object: object(ref, rv, s), seenAt: 0, list: `l${rv}` });
  on.push({
    kind: 'PodTemplate',
    type: 'SYNCED',
    scope: ref.namespace,
    resourceVersion: rv,
    list: `l${rv}`,
    count: 1,
    seenAt: 0,
  });
};

describe('Templates: each PodTemplate as its watch last said, from memory', () => {
  it('watches the global template and those CriticalServices name; stops the ones no longer named', () => {
    const { templates, watches } = setup();
    const shop = { namespace: 'pages', name: 'shop' };
    templates.follow([
      { ...crit('a', []), templateRef: shop },
      { ...crit('bad', []), templateRef: { namespace: 'x', name: 'y' }, problems: ['p'] },
    ]);
    expect([...watches.keys()].sort()).toEqual(['linux-mag/page', 'pages/shop']);
    templates.follow([crit('a', [])]);
    expect(watches.get('pages/shop')?.stopped).toBe(true);
    expect(watches.get('linux-mag/page')?.stopped).toBe(false);
    expect(templates.refOf(undefined)).toEqual(global);
    expect(templates.refOf({ templateRef: shop })).toEqual(shop);
  });

  it('not listed yet → pending (nothing reported); listed → usable; deleted → not found at once; re-created → usable', () => {
    const { templates, watches, changes } = setup();
    templates.follow([]);
    expect(templates.get(global)).toMatchObject({ ok: false, pending: true });
    expect(templates.problem(global)).toBeUndefined();
    const on = watches.get('linux-mag/page')?.on as On;
    listed(on, global, '5');
    expect(templates.get(global).ok).toBe(true);
    on.push({ kind: 'PodTemplate', type: 'DELETED', object: object(global, '6'), seenAt: 0 });
    expect(templates.get(global)).toEqual({ ok: false, error: 'PodTemplate linux-mag/page not found' });
    expect(templates.problem(global)).toBe('PodTemplate linux-mag/page not found');
    on.push({ kind: 'PodTemplate', type: 'ADDED', object: object(global, '7'), seenAt: 0 });
    expect(templates.get(global).ok).toBe(true);
    expect(changes).toEqual([
      ['linux-mag/page', true],
      ['linux-mag/page', false],
      ['linux-mag/page', true],
    ]);
  });

  it('a list without it: not found; a change to an invalid spec: the reason', () => {
    const { templates, watches } = setup();
    templates.follow([]);
    const on = watches.get('linux-mag/page')?.on as On;
    on.push({
      kind: 'PodTemplate',
      type: 'SYNCED',
      scope: 'linux-mag',
      resourceVersion: '3',
      list: 'l3',
      count: 0,
      seenAt: 0,
    });
    expect(templates.problem(global)).toBe('PodTemplate linux-mag/page not found');
    listed(on, global, '3');
    expect(templates.problem(global)).toBeUndefined();
    on.push({ kind: 'PodTemplate', type: 'SYNCED', scope: 'linux-mag', resourceVersion: '3', keys: [], seenAt: 0 }); // as the keys it names
    expect(templates.problem(global)).toBe('PodTemplate linux-mag/page not found');
    on.push({
      kind: 'PodTemplate',
      type: 'ADDED',
      object: object(global, '4', { hostNetwork: true, ...spec }),
      seenAt: 0,
    });
    expect(templates.problem(global)).toContain('is invalid: asks for what default pods may not have');
  });

  it('a 422 refusal stands until the template changes or a create works; forbidden stands until a list works', () => {
    const { templates, watches } = setup();
    templates.follow([]);
    const on = watches.get('linux-mag/page')?.on as On;
    listed(on, global, '5');
    templates.invalidate(global, 'the pod built from it was refused: 422');
    expect(templates.problem(global)).toBe('PodTemplate linux-mag/page: the pod built from it was refused: 422');
    expect(templates.get(global).ok).toBe(true); // tried again, as before
    templates.worked(global);
    expect(templates.problem(global)).toBeUndefined();
    templates.invalidate(global, 'refused');
    on.push({ kind: 'PodTemplate', type: 'MODIFIED', object: object(global, '8'), seenAt: 0 });
    expect(templates.problem(global)).toBeUndefined();
    on.listFailed(Object.assign(new Error('GET: HTTP 403'), { statusCode: 403 }));
    expect(templates.problem(global)).toContain('cannot be read: forbidden');
    on.listFailed(Object.assign(new Error('reset'), { statusCode: 503 }));
    expect(templates.problem(global)).toContain('forbidden');
    listed(on, global, '9');
    expect(templates.problem(global)).toBeUndefined();
  });

  it("firstAnswers: waits for each followed template's first list (or a refusal for good), not for transient errors, at most the time given", async () => {
    const { templates, watches } = setup();
    const shop = { namespace: 'pages', name: 'shop' };
    templates.follow([{ ...crit('a', []), templateRef: shop }]);
    const waiting = templates.firstAnswers(5_000);
    let answered: string[] | undefined;
    void waiting.then((keys) => {
      answered = keys;
    });
    listed(watches.get('linux-mag/page')?.on as On, global, '5');
    const on = watches.get('pages/shop')?.on as On;
    on.listFailed(Object.assign(new Error('reset'), { statusCode: 503 }));
    await Promise.resolve();
    expect(answered).toBeUndefined();
    on.listFailed(Object.assign(new Error('GET: HTTP 403'), { statusCode: 403 }));
    expect(await waiting).toEqual([]);
    expect(await templates.firstAnswers(5_000)).toEqual([]);

    const other = setup();
    other.templates.follow([]);
    expect(await other.templates.firstAnswers(50)).toEqual(['linux-mag/page']);
  });
});
