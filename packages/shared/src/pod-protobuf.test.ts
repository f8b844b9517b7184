// The decoder on hand-made bytes: what it must refuse or skip. That it reads what the API server
// sends as the JSON list reads it is test/integration/pod-protobuf.test.ts, on real answers.
import { describe, expect, it } from 'vitest';
import { decodePodList, decodeStatus } from './pod-protobuf.ts';
import { ProtobufError } from './protobuf-wire.ts';

const varint = (n: number): number[] => {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return out;
};
const field = (f: number, bytes: number[]): number[] => [...varint(f * 8 + 2), ...varint(bytes.length), ...bytes];
const str = (f: number, s: string): number[] => field(f, [...Buffer.from(s, 'utf8')]);
const num = (f: number, n: number): number[] => [...varint(f * 8), ...varint(n)];
const envelope = (object: number[]): Buffer =>
  Buffer.from([0x6b, 0x38, 0x73, 0x00, ...field(1, [...str(1, 'v1'), ...str(2, 'PodList')]), ...field(2, object)]);

const meta = [
  ...str(1, 'web-1'),
  ...str(3, 'default'),
  ...str(5, 'u-1'),
  ...str(6, '42'),
  ...num(7, 0),
  ...field(8, num(1, 1_764_914_400)),
];
const podBytes = (m: number[], extra: number[] = []): number[] => field(2, [...field(1, m), ...extra]);

describe('decodePodList', () => {
  it('reads a pod, omitting zero values as JSON does, and skips fields of every wire type it does not read', () => {
    const unknown = [
      ...num(99, 300),
      0xa1,
      0x06,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      0xad,
      0x06,
      1,
      2,
      3,
      4,
      ...str(98, 'ignored'),
    ];
    const list = [
      ...field(1, [...str(2, '77'), ...str(3, 'next')]),
      ...podBytes([...meta, ...unknown], [...field(3, [...str(1, ''), ...str(6, '')])]),
    ];
    expect(decodePodList(envelope(list))).toEqual({
      items: [
        {
          metadata: {
            name: 'web-1',
            namespace: 'default',
            uid: 'u-1',
            resourceVersion: '42',
            creationTimestamp: '2025-12-05T06:00:00Z',
          },
          status: {},
        },
      ],
      resourceVersion: '77',
      continue: 'next',
    });
  });

  it.each([
    ['no envelope', Buffer.from('{"kind":"PodList"}')],
    ['a truncated length', envelope(podBytes(meta)).subarray(0, 30)],
    ['a length past its message', Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x12, 0x05, 0x12, 0x7f, 0x00])],
    ['an unterminated varint', Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x12, 0x03, 0x08, 0xff, 0xff])],
    ['a group (wire type 3)', envelope([0x0b])],
  ])('refuses %s with a ProtobufError', (_what, bytes) => {
    expect(() => decodePodList(bytes)).toThrow(ProtobufError);
  });
});

describe('decodeStatus', () => {
  it("gives a refusal's code, reason and message", () => {
    const status = [
      ...str(2, 'Failure'),
      ...str(3, 'pods "x" is forbidden: no'),
      ...str(4, 'Forbidden'),
      ...num(6, 403),
    ];
    expect(decodeStatus(envelope(status))).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      status: 'Failure',
      message: 'pods "x" is forbidden: no',
      reason: 'Forbidden',
      code: 403,
    });
  });
});
