import { describe, expect, it } from 'vitest';
import { Timeline, type FailoverStage } from './timeline.ts';

function timeline() {
  let t = 0;
  const latency: [string, number][] = [];
  const stages: [FailoverStage, number][] = [];
  const tl = new Timeline({ latency: (a, s) => latency.push([a, s]), stage: (st, s) => stages.push([st, s]) }, () => t);
  return {
    tl,
    latency,
    stages,
    at: (ms: number) => {
      t = ms;
    },
  };
}

describe('Timeline', () => {
  it('splits a failover into its stages, which add up to the event-to-create latency', () => {
    const { tl, latency, stages, at } = timeline();
    at(1002);
    tl.triggered('ns/a', 1000);
    at(1003);
    tl.started('ns/a');
    at(1003.5);
    tl.decided('ns/a');
    at(1006);
    tl.sent('ns/a');
    at(1010);
    expect(tl.done('ns/a', 'create')).toEqual({ queue: 2, decision_wait: 1, decide: 0.5, reads: 2.5, create: 4 });
    expect(latency).toEqual([['create', 0.01]]);
    expect(stages).toEqual([
      ['queue', 0.002],
      ['decision_wait', 0.001],
      ['decide', 0.0005],
      ['reads', 0.0025],
      ['create', 0.004],
    ]);
  });

  it('counts from the earliest event not acted on, and forgets events decided with nothing to do', () => {
    const { tl, latency, at } = timeline();
    at(10);
    tl.triggered('ns/a', 5);
    at(20);
    tl.triggered('ns/a', 15);
    tl.clear('ns/a');
    at(30);
    tl.triggered('ns/a', 25);
    at(40);
    tl.done('ns/a', 'delete');
    expect(latency).toEqual([['delete', 0.015]]);
  });

  it('leaves out events without a watcher timestamp, and deletes from the stage breakdown', () => {
    const { tl, latency, stages, at } = timeline();
    tl.triggered('ns/a', 0);
    tl.started('ns/a');
    tl.decided('ns/a');
    tl.sent('ns/a');
    at(5);
    expect(tl.done('ns/a', 'create')).toBeUndefined();
    tl.triggered('ns/b', 1);
    tl.started('ns/b');
    tl.decided('ns/b');
    tl.sent('ns/b');
    tl.done('ns/b', 'delete');
    expect(latency).toEqual([['delete', 0.004]]);
    expect(stages).toEqual([]);
  });
});
