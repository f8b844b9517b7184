import { describe, expect, it } from 'vitest';
import type { KubeObject } from '@critsvc/shared/model';
import { parseCriticalService, parsePod, parseService } from './parse.ts';

const meta = (o: Record<string, unknown> = {}): Record<string, unknown> => ({
  name: 'x',
  namespace: 'ns',
  uid: 'u',
  resourceVersion: '7',
  ...o,
});
const OWNED = {
  labels: { 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'fe' },
  annotations: { 'service-watcher': 'owned' },
};

describe('parse: malformed objects are an error string, never an exception', () => {
  it.each<[string, (o: KubeObject) => { ok: boolean }, unknown, string]>([
    ['Service without metadata', parseService, {}, 'metadata missing'],
    ['Service without name', parseService, { metadata: { namespace: 'ns' } }, 'metadata.name missing'],
    ['Pod without namespace', parsePod, { metadata: { name: 'p' } }, 'metadata.namespace missing'],
    ['Pod with metadata an array', parsePod, { metadata: [] }, 'metadata missing'],
    ['CriticalService without name', parseCriticalService, { metadata: {} }, 'metadata.name missing'],
  ])('%s', (_what, parse, obj, error) => {
    expect(parse(obj as KubeObject)).toEqual({ ok: false, error });
  });
});

describe('parseService', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    ['defaults', {}, { selector: {}, type: 'ClusterIP', ports: [], publishNotReady: false }],
    ['non-string selector values dropped', { selector: { app: 'web', n: 3, o: null } }, { selector: { app: 'web' } }],
    [
      'ports: numeric and named targetPort, default protocol; a port without a number dropped',
      {
        ports: [
          { port: 80, targetPort: 8080 },
          { port: 81, targetPort: 'web', protocol: 'UDP', name: 'u' },
          { name: 'bad' },
        ],
      },
      {
        ports: [
          { port: 80, protocol: 'TCP', targetPort: 8080 },
          { port: 81, protocol: 'UDP', name: 'u', targetPort: 'web' },
        ],
      },
    ],
    ['publishNotReadyAddresses', { publishNotReadyAddresses: true }, { publishNotReady: true }],
    ['ExternalName', { type: 'ExternalName' }, { type: 'ExternalName' }],
  ])('%s', (_what, spec, expected) => {
    const r = parseService({ metadata: meta(), spec });
    expect(r.ok && r.value).toMatchObject({ key: 'ns/x', ...expected });
  });
});

describe('parsePod', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown> | undefined, Record<string, unknown>]>([
    [
      'no status: Pending, not ready, no IP',
      meta(),
      undefined,
      { phase: 'Pending', ready: false, hasIP: false, owned: false, legacy: false, terminating: false },
    ],
    [
      'Ready condition True',
      meta(),
      { phase: 'Running', podIP: '10.0.0.1', conditions: [{ type: 'Ready', status: 'True' }] },
      { phase: 'Running', ready: true, hasIP: true },
    ],
    [
      'Ready condition False',
      meta(),
      { phase: 'Running', conditions: [{ type: 'Ready', status: 'False' }] },
      { ready: false },
    ],
    ['terminating', meta({ deletionTimestamp: '2026-11-29T00:00:00Z' }), undefined, { terminating: true }],
    [
      'both marks: owned, for its Service',
      meta(OWNED),
      undefined,
      { owned: true, legacy: false, forService: 'fe', owners: [] },
    ],
    [
      "the annotation only: left by the article's version",
      meta({ annotations: OWNED.annotations }),
      undefined,
      { owned: false, legacy: true },
    ],
    ["the label only: somebody else's", meta({ labels: OWNED.labels }), undefined, { owned: false, legacy: false }],
    [
      'CriticalService owners kept, others ignored',
      meta({
        ...OWNED,
        ownerReferences: [
          { apiVersion: 'mycrd.com/v1', kind: 'CriticalService', name: 'c', uid: 'cu', controller: true },
          { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'ru' },
          { apiVersion: 'other.io/v1', kind: 'CriticalService', name: 'fake', uid: 'fu' },
        ],
      }),
      undefined,
      { owners: [{ name: 'c', uid: 'cu', controller: true }] },
    ],
  ])('%s', (_what, metadata, status, expected) => {
    const r = parsePod({ metadata, ...(status ? { status } : {}) } as KubeObject);
    expect(r.ok && r.value).toMatchObject(expected);
  });
});

describe('parseCriticalService', () => {
  const ml = [{ key: 'a', value: 'b' }];
  it.each<
    [
      string,
      unknown,
      {
        namespace?: string;
        matchLabels: unknown[];
        problems: string[];
        templateRef?: unknown;
        message?: string;
        hotStandby?: boolean;
      },
    ]
  >([
    [
      'valid',
      { namespace: 'ns', matchLabels: [{ key: 'role', value: 'fe' }] },
      { namespace: 'ns', matchLabels: [{ key: 'role', value: 'fe' }], problems: [] },
    ],
    [
      'no namespace: any watched namespace',
      { matchLabels: [{ key: 'role', value: '' }] },
      { matchLabels: [{ key: 'role', value: '' }], problems: [] },
    ],
    ['no spec', undefined, { matchLabels: [], problems: ['spec is missing'] }],
    [
      'empty matchLabels',
      { matchLabels: [] },
      { matchLabels: [], problems: ['spec.matchLabels must be a non-empty list of {key, value}'] },
    ],
    [
      'a bad item among good ones',
      { matchLabels: [{ key: 'a', value: 'b' }, { key: '' }] },
      { matchLabels: [{ key: 'a', value: 'b' }], problems: ['spec.matchLabels[1] needs a string key and value'] },
    ],
    [
      'one key with two values (stored before the CRD refused it): it matches nothing, so it is a problem',
      {
        matchLabels: [
          { key: 'tier', value: 'gold' },
          { key: 'app', value: 'web' },
          { key: 'tier', value: 'silver' },
        ],
      },
      {
        matchLabels: [
          { key: 'tier', value: 'gold' },
          { key: 'app', value: 'web' },
          { key: 'tier', value: 'silver' },
        ],
        problems: ['spec.matchLabels asks for tier to be "gold" and "silver": no Service can match'],
      },
    ],
    [
      'the same pair twice: only redundant, it covers what it did',
      {
        matchLabels: [
          { key: 'tier', value: 'gold' },
          { key: 'tier', value: 'gold' },
        ],
      },
      {
        matchLabels: [
          { key: 'tier', value: 'gold' },
          { key: 'tier', value: 'gold' },
        ],
        problems: [],
      },
    ],
    [
      'namespace not a string',
      { namespace: 5, matchLabels: [{ key: 'a', value: 'b' }] },
      { matchLabels: [{ key: 'a', value: 'b' }], problems: ['spec.namespace must be a non-empty string'] },
    ],
    [
      'a defaultPod with its template and message',
      {
        matchLabels: ml,
        defaultPod: { templateRef: { namespace: 'pages', name: 'shop.page' }, message: 'Back at 10:00 <b>' },
      },
      {
        matchLabels: ml,
        templateRef: { namespace: 'pages', name: 'shop.page' },
        message: 'Back at 10:00 <b>',
        problems: [],
      },
    ],
    [
      'a defaultPod with a message only',
      { matchLabels: ml, defaultPod: { message: '' } },
      { matchLabels: ml, message: '', problems: [] },
    ],
    [
      'defaultPod not an object',
      { matchLabels: ml, defaultPod: 'x' },
      { matchLabels: ml, problems: ['spec.defaultPod must be an object'] },
    ],
    [
      'templateRef with bad names',
      { matchLabels: ml, defaultPod: { templateRef: { namespace: 'Bad_NS', name: '' } } },
      {
        matchLabels: ml,
        problems: [
          'spec.defaultPod.templateRef.namespace must be a DNS label (a namespace name)',
          'spec.defaultPod.templateRef.name must be a DNS subdomain (a PodTemplate name)',
        ],
      },
    ],
    [
      'templateRef not an object',
      { matchLabels: ml, defaultPod: { templateRef: 7 } },
      {
        matchLabels: ml,
        problems: [
          'spec.defaultPod.templateRef.namespace must be a DNS label (a namespace name)',
          'spec.defaultPod.templateRef.name must be a DNS subdomain (a PodTemplate name)',
        ],
      },
    ],
    [
      'a message too long, or not a string',
      { matchLabels: ml, defaultPod: { message: 'x'.repeat(1025) } },
      { matchLabels: ml, problems: ['spec.defaultPod.message must be a string of at most 1024 characters'] },
    ],
    [
      '1024 emoji: within the limit (code points, as the schema counts)',
      { matchLabels: ml, defaultPod: { message: '🔧'.repeat(1024) } },
      { matchLabels: ml, message: '🔧'.repeat(1024), problems: [] },
    ],
    [
      'a message not a string',
      { matchLabels: ml, defaultPod: { message: 3 } },
      { matchLabels: ml, problems: ['spec.defaultPod.message must be a string of at most 1024 characters'] },
    ],
    [
      'hot standby asked for',
      { matchLabels: ml, defaultPod: { hotStandby: true } },
      { matchLabels: ml, hotStandby: true, problems: [] },
    ],
    [
      'hot standby false: as if absent',
      { matchLabels: ml, defaultPod: { hotStandby: false } },
      { matchLabels: ml, problems: [] },
    ],
    [
      'hot standby not a boolean',
      { matchLabels: ml, defaultPod: { hotStandby: 'yes' } },
      { matchLabels: ml, problems: ['spec.defaultPod.hotStandby must be true or false'] },
    ],
  ])('%s', (_what, spec, expected) => {
    const r = parseCriticalService({
      metadata: { name: 'c', uid: 'u', resourceVersion: '1', generation: 3 },
      ...(spec === undefined ? {} : { spec }),
    } as KubeObject);
    expect(r.ok && r.value).toEqual({ name: 'c', uid: 'u', resourceVersion: '1', generation: 3, ...expected });
  });
});
