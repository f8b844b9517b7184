import { describe, expect, it } from 'vitest';
import { CreateRefused, StateDisagrees, TemplateUnusable } from './action-errors.ts';
import { CHECK_FIRST_MS, failed, ServiceRecords, took } from './records.ts';

describe('ServiceRecords', () => {
  it('forgetting a Service is one call: its record and what the other parts keep for it go', () => {
    const forgotten: string[] = [];
    const records = new ServiceRecords([(k) => forgotten.push(`clock:${k}`), (k) => forgotten.push(`reporter:${k}`)]);
    const rec = records.of('ns/a');
    rec.served = true;
    rec.blocked = { reason: 'DefaultPodNameTaken', message: 'm' };
    records.forget('ns/a');
    expect(records.get('ns/a')).toBeUndefined();
    expect(records.of('ns/a')).toEqual({ served: false });
    expect(forgotten).toEqual(['clock:ns/a', 'reporter:ns/a']);
  });

  it('lists the Services held back for one reason only', () => {
    const records = new ServiceRecords();
    records.of('ns/a').blocked = { reason: 'DefaultPodLimitReached', message: 'limit' };
    records.of('ns/b').blocked = { reason: 'DefaultPodRefused', message: 'quota' };
    records.of('ns/c');
    expect([...records.blockedBy('DefaultPodLimitReached')]).toEqual(['ns/a']);
  });

  it('a suspect Service stays suspect until its time is up, then is not', () => {
    const records = new ServiceRecords();
    expect(records.suspect('ns/a', 0)).toBe(false);
    failed(records.of('ns/a'), new StateDisagrees('lie', { suspect: true }), 1_000);
    expect(records.suspect('ns/a', 1_000 + CHECK_FIRST_MS)).toBe(true);
    expect(records.suspect('ns/a', 1_001 + CHECK_FIRST_MS)).toBe(false);
    expect(records.get('ns/a')?.suspectUntil).toBeUndefined();
  });
});

describe('outcomes and failures on a record', () => {
  it('an admission refusal blocks the Service; a pod given unblocks it', () => {
    const records = new ServiceRecords();
    const rec = records.of('ns/a');
    failed(rec, new CreateRefused('exceeded quota'));
    expect(rec.blocked).toEqual({ reason: 'DefaultPodRefused', message: 'exceeded quota' });
    took(rec, { kind: 'done' });
    expect(rec.blocked).toBeDefined();
    took(rec, { kind: 'pod-given', confirmed: false });
    expect(rec.blocked).toBeUndefined();
  });

  it('a state only behind (not wrong), or a template problem, makes no one suspect', () => {
    const rec = new ServiceRecords().of('ns/a');
    failed(rec, new StateDisagrees('behind'), 0);
    failed(rec, new TemplateUnusable('bad'), 0);
    expect(rec.suspectUntil).toBeUndefined();
    expect(rec.blocked).toBeUndefined();
  });

  it('a create checked before confirms the outage (suspicion ends); an unchecked one leaves its check due', () => {
    const rec = new ServiceRecords().of('ns/a');
    rec.suspectUntil = 5;
    const check = { due: 100 } as never;
    took(rec, { kind: 'pod-given', check, confirmed: false });
    expect(rec.dueCheck).toBe(check);
    expect(rec.suspectUntil).toBe(5);
    took(rec, { kind: 'pod-given', confirmed: true });
    expect(rec.suspectUntil).toBeUndefined();
  });
});
