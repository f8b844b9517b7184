// The pure parts of the list-watch loop; the loop itself runs against a real API server in
// test/integration/list-watch.test.ts.
import { describe, expect, it } from 'vitest';
import { listInto } from './list-into.ts';
import type { ListPage } from './list-watcher.ts';
import { eventEffect, watchEnd, watchTimeouts } from './watch-events.ts';
import type { KubeObject } from './types.ts';

describe('watchTimeouts', () => {
  it.each<[number, number, number, number, number]>([
    // timeout, margin, random → server timeout, stalled after (ms)
    [300, 90, 0, 300, 390_000],
    [300, 90, 0.999, 360, 450_000],
    [300, 90, 0.5, 330, 420_000],
    [3, 2, 0, 3, 5_000],
    [0.2, 1, 0, 1, 2_000], // the API takes whole seconds, at least 1
  ])(
    'timeout %d s + margin %d s (random %d): the server ends it at %d s, stalled after %d ms',
    (timeout, margin, random, server, stall) => {
      expect(watchTimeouts(timeout, margin, () => random)).toEqual({ serverSeconds: server, stallMs: stall });
    },
  );

  it('a watch is never called stalled before the server could have ended it', () => {
    for (let i = 0; i < 1000; i++) {
      const t = watchTimeouts(300, 5);
      expect(t.serverSeconds).toBeGreaterThanOrEqual(300);
      expect(t.serverSeconds).toBeLessThanOrEqual(360);
      expect(t.stallMs).toBe((t.serverSeconds + 5) * 1000);
    }
  });
});

describe('watchEnd', () => {
  const quiet = { stopped: false, gone: false, relist: false, stalled: false };
  const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  const abort = new DOMException('This operation was aborted', 'AbortError');
  const http = (statusCode: number): Error => Object.assign(new Error(`HTTP ${statusCode}`), { statusCode });
  it.each<[string, Partial<typeof quiet>, unknown, string]>([
    ['the server ended the response (its timeout)', {}, null, 'closed'],
    ['the stream closed without an error object', {}, undefined, 'closed'],
    ['our own abort', {}, abort, 'closed'],
    ['our stall deadline aborted it', { stalled: true }, abort, 'stalled'],
    ['client-node timed out waiting for the response', {}, timeout, 'stalled'],
    ['an ERROR event with 410 was seen', { gone: true }, abort, 'gone'],
    ['the request answered 410 Gone', {}, http(410), 'gone'],
    ['a re-list was asked for', { relist: true }, abort, 'relist'],
    ['stopping wins over everything', { stopped: true, gone: true, stalled: true }, timeout, 'stopped'],
    ['any other failure is an error (retried with backoff)', {}, http(503), 'error'],
    ['a connection refused is an error', {}, new Error('ECONNREFUSED'), 'error'],
  ])('%s → %s', (_, state, err, reason) => {
    expect(watchEnd({ ...quiet, ...state }, err).reason).toBe(reason);
  });
});

describe('eventEffect', () => {
  const withRv = (rv: unknown): unknown => ({ metadata: { name: 'p', resourceVersion: rv } });
  it.each<[string, string, unknown, ReturnType<typeof eventEffect>]>([
    ['a bookmark moves the resume point', 'BOOKMARK', withRv('42'), { effect: 'bookmark', resourceVersion: '42' }],
    ['a bookmark without a version moves nothing', 'BOOKMARK', {}, { effect: 'bookmark', resourceVersion: undefined }],
    [
      'an object event carries its version',
      'MODIFIED',
      withRv('43'),
      { effect: 'object', type: 'MODIFIED', resourceVersion: '43' },
    ],
    ['a DELETED event too', 'DELETED', withRv('44'), { effect: 'object', type: 'DELETED', resourceVersion: '44' }],
    [
      'a non-string version is ignored',
      'ADDED',
      withRv(45),
      { effect: 'object', type: 'ADDED', resourceVersion: undefined },
    ],
    ['ERROR 410: re-list', 'ERROR', { kind: 'Status', code: 410, reason: 'Expired' }, { effect: 'gone' }],
    ['ERROR 500: logged, watch goes on', 'ERROR', { kind: 'Status', code: 500 }, { effect: 'error' }],
    ['ERROR without a body', 'ERROR', null, { effect: 'error' }],
    ['an unknown type is skipped', 'SURPRISE', withRv('46'), { effect: 'unknown' }],
  ])('%s', (_, type, obj, effect) => {
    expect(eventEffect(type, obj)).toEqual(effect);
  });
});

describe('listInto', () => {
  const page = (names: string[], cont?: string): ListPage => ({
    items: names.map((name) => ({ metadata: { namespace: 'ns', name, resourceVersion: '9' } })),
    resourceVersion: '9',
    ...(cont ? { continue: cont } : {}),
  });

  it('pushes each page as it arrives and asks for the next only once the consumer has room', async () => {
    const log: string[] = [];
    const lists = new Set<string | undefined>();
    const pages = [page(['a', 'b'], 'c1'), page(['c'], 'c2'), page(['d'])];
    let opened = () => undefined as void;
    const target = {
      kind: 'Pod' as const,
      list: async () => {
        log.push('list');
        return pages.shift() ?? page([]);
      },
    };
    const result = listInto({
      target,
      strip: (o) => o as KubeObject,
      now: () => 1,
      push: (job) => {
        if (job.type !== 'SYNCED') lists.add(job.list);
        log.push(job.type === 'ADDED' ? (job.object.metadata?.name ?? '') : job.type);
      },
      room: () => {
        log.push('room?');
        return new Promise<void>((r) => {
          opened = r;
        });
      },
    });
    await new Promise((r) => setTimeout(r, 10));
    // Held at the first page until room: one page in memory, its objects already pushed.
    expect(log).toEqual(['list', 'a', 'b', 'room?']);
    opened();
    await new Promise((r) => setTimeout(r, 10));
    opened();
    const { resourceVersion, list, count } = await result;
    expect({ resourceVersion, count }).toEqual({ resourceVersion: '9', count: 4 });
    // Every ADDED names the list, for its SYNCED marker (which then need not carry every key).
    expect([...lists]).toEqual([list]);
    expect(list).toMatch(/^[\w-]{8}$/);
    expect(log).toEqual(['list', 'a', 'b', 'room?', 'list', 'c', 'room?', 'list', 'd']);
  });

  it('two lists have two ids', async () => {
    const target = { kind: 'Pod' as const, list: async () => page(['a']) };
    const take = () => listInto({ target, strip: (o) => o as KubeObject, now: () => 1, push: () => undefined });
    expect((await take()).list).not.toBe((await take()).list);
  });
});
