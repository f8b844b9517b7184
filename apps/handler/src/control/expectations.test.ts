import { describe, expect, it } from 'vitest';
import { EXPECTATION_TTL_MS, Expectations } from './expectations.ts';
import type { PodInfo } from '../model/types.ts';

const pod = (name: string, uid: string, o: Partial<PodInfo> = {}): PodInfo => ({
  key: `ns/${name}`,
  name,
  namespace: 'ns',
  uid,
  resourceVersion: '1',
  labels: {},
  owned: true,
  legacy: false,
  standby: false,
  forService: 'fe',
  phase: 'Running',
  ready: true,
  hasIP: true,
  terminating: false,
  ...o,
});

describe('Expectations', () => {
  const cases: {
    what: string;
    steps: (e: Expectations, clock: { t: number }) => void;
    creating: boolean;
    deleting: string[];
  }[] = [
    { what: 'a create is awaited', steps: (e) => e.expectCreate('ns/fe', 'd'), creating: true, deleting: [] },
    {
      what: 'its pod seen settles it',
      steps: (e) => {
        e.expectCreate('ns/fe', 'd');
        e.observe(undefined, pod('d', 'u1'));
      },
      creating: false,
      deleting: [],
    },
    {
      what: 'another pod of the Service does not',
      steps: (e) => {
        e.expectCreate('ns/fe', 'd');
        e.observe(undefined, pod('other', 'u1'));
      },
      creating: true,
      deleting: [],
    },
    {
      what: 'a pod not ours does not',
      steps: (e) => {
        e.expectCreate('ns/fe', 'd');
        e.observe(undefined, pod('d', 'u1', { owned: false }));
      },
      creating: true,
      deleting: [],
    },
    {
      what: 'its pod seen only as gone settles it',
      steps: (e) => {
        e.expectCreate('ns/fe', 'd');
        e.gone('ns', 'd', 'u1');
      },
      creating: false,
      deleting: [],
    },
    {
      what: 'a pod of that name in another namespace does not',
      steps: (e) => {
        e.expectCreate('ns/fe', 'd');
        e.gone('other', 'd', 'u1');
      },
      creating: true,
      deleting: [],
    },
    {
      what: 'a create expires',
      steps: (e, c) => {
        e.expectCreate('ns/fe', 'd');
        c.t += EXPECTATION_TTL_MS + 1;
      },
      creating: false,
      deleting: [],
    },
    { what: 'a delete is awaited', steps: (e) => e.expectDelete('u1'), creating: false, deleting: ['u1'] },
    {
      what: 'the pod gone settles it',
      steps: (e) => {
        e.expectDelete('u1');
        e.observe(pod('d', 'u1'), undefined);
      },
      creating: false,
      deleting: [],
    },
    {
      what: 'or a DELETED the state had no pod for',
      steps: (e) => {
        e.expectDelete('u1');
        e.gone('ns', 'd', 'u1');
      },
      creating: false,
      deleting: [],
    },
    {
      what: 'a delete expires',
      steps: (e, c) => {
        e.expectDelete('u1');
        c.t += EXPECTATION_TTL_MS + 1;
      },
      creating: false,
      deleting: [],
    },
  ];
  it.each(cases)('$what', ({ steps, creating, deleting }) => {
    const clock = { t: 1_000 };
    const e = new Expectations(() => clock.t);
    steps(e, clock);
    const f = e.inFlight('ns/fe');
    expect({ creating: f.creating, deleting: [...f.deleting] }).toEqual({ creating, deleting });
  });

  it('gone() names the Services to decide again', () => {
    const e = new Expectations();
    e.expectCreate('ns/fe', 'd-fe');
    e.expectCreate('ns/be', 'd-be');
    expect(e.gone('ns', 'd-fe', 'x')).toEqual(['ns/fe']);
    expect(e.gone('ns', 'd-fe', 'x')).toEqual([]);
  });
});
