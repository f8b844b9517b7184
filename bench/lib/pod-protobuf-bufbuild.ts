// bench/protobuf-reader.ts's candidate: packages/shared/src/pod-protobuf.ts with its wire reader
// (class Reader) replaced by an adapter over @bufbuild/protobuf's BinaryReader. Everything else,
// the field tables and the shaping as stripObject shapes, is that file's, unchanged. Kept in
// bench/ only: the measurement said not to adopt it (bench/results/2026-12-08-protobuf-reader.md).
import type { KubeObject, ObjectMeta, OwnerReference } from '../../packages/shared/src/types.ts';
import { ProtobufError } from '../../packages/shared/src/pod-protobuf.ts';

/** "k8s\0": the API server's protobuf envelope (a runtime.Unknown follows). */
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

const VARINT = 0;
const BYTES = 2;

/**
 * One copy of each string that many pods share (namespaces, label values, phases): JSON.parse
 * internalizes short values, a decoder making a new string per pod would hold 150,000 copies of
 * a namespace's name. Bounded: cleared when full (unique values such as hashes come and go).
 */
const shared = new Map<string, string>();
const SHARED_MAX = 50_000;

function intern(s: string): string {
  const known = shared.get(s);
  if (known !== undefined) return known;
  if (shared.size >= SHARED_MAX) shared.clear();
  shared.set(s, s);
  return s;
}

/**
 * The surface of @bufbuild/protobuf's BinaryReader this module uses (declared here so the bench
 * typechecks without the package installed; the class itself is handed in by useBinaryReader).
 */
export interface BinaryReaderLike {
  pos: number;
  readonly len: number;
  tag(): [number, number];
  skip(wireType: number): Uint8Array;
  uint32(): number;
  uint64(): bigint | string;
  string(): string;
}
export type BinaryReaderClass = new (buf: Uint8Array) => BinaryReaderLike;

let BinaryReader: BinaryReaderClass | undefined;

/** The BinaryReader class to decode with (the harness imports it where it finds it). */
export function useBinaryReader(cls: BinaryReaderClass): void {
  BinaryReader = cls;
}

/**
 * The hand reader's interface over one BinaryReader per answer: every Reader of a message shares
 * its cursor and keeps only the message's end (BinaryReader checks against the whole buffer).
 * A sub-message is read to its end before its parent reads on, as every caller here does.
 */
class Reader {
  readonly buf: Buffer;
  readonly br: BinaryReaderLike;
  readonly end: number;

  constructor(buf: Buffer, br: BinaryReaderLike, end: number) {
    this.buf = buf;
    this.br = br;
    this.end = end;
  }

  get more(): boolean {
    return this.br.pos < this.end;
  }

  private within(): void {
    if (this.br.pos > this.end) throw new ProtobufError('field runs past its message');
  }

  /** A varint as a number: BinaryReader's uint64, exact up to 2^53 as the hand reader's. */
  varint(): number {
    const v = Number(this.br.uint64());
    this.within();
    return v;
  }

  /** The [start, end) of a length-delimited field, the cursor moved past it. */
  span(): [number, number] {
    const len = this.br.uint32();
    const start = this.br.pos;
    if (start + len > this.end) throw new ProtobufError('length-delimited field runs past its message');
    this.br.pos = start + len;
    return [start, start + len];
  }

  /** The message at the cursor: read it to its end before this Reader reads on. */
  sub(): Reader {
    const len = this.br.uint32();
    const start = this.br.pos;
    if (start + len > this.end) throw new ProtobufError('length-delimited field runs past its message');
    return new Reader(this.buf, this.br, start + len);
  }

  string(): string {
    const s = this.br.string();
    this.within();
    return s;
  }

  /** A string many objects share (see intern). */
  sharedString(): string {
    return intern(this.string());
  }

  skip(wire: number): void {
    this.br.skip(wire);
    this.within();
  }

  /** Reads the length-delimited fields `on` has a reader for (by field number); skips the rest. */
  bytesFields(on: Record<number, () => void>): void {
    this.fields((f, w) => {
      const read = w === BYTES ? on[f] : undefined;
      read?.();
      return read !== undefined;
    });
  }

  /** Calls `on(field, wire)` for each field; `on` reads the value or returns false to skip it. */
  fields(on: (field: number, wire: number) => boolean): void {
    while (this.br.pos < this.end) {
      const [field, wire] = this.br.tag();
      if (!on(field, wire)) this.skip(wire);
    }
    this.within();
  }
}

/** The JSON form of a metav1.Time: RFC 3339 at second precision, UTC ("2026-12-05T06:00:00Z"). */
function time(r: Reader): string {
  let seconds = 0;
  r.fields((f, w) => (f === 1 && w === VARINT ? ((seconds = r.varint()), true) : false));
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One map<string,string> entry (key 1, value 2) into `into`; `keep` filters by key, and a value
 * not kept is never decoded (annotations hold kilobytes: last-applied-configuration).
 */
function mapEntry(r: Reader, into: Record<string, string>, keep?: (k: string) => boolean): void {
  let key = '';
  let value: [number, number] | undefined;
  r.bytesFields({
    1: () => {
      key = r.sharedString();
    },
    2: () => {
      value = r.span();
    },
  });
  if (keep && !keep(key)) return;
  into[key] = value ? intern(r.buf.toString('utf8', value[0], value[1])) : '';
}

const OWNER_STRINGS: Record<number, 'kind' | 'name' | 'uid' | 'apiVersion'> = {
  1: 'kind',
  3: 'name',
  4: 'uid',
  5: 'apiVersion',
};
const OWNER_BOOLS: Record<number, 'controller' | 'blockOwnerDeletion'> = { 6: 'controller', 7: 'blockOwnerDeletion' };

function ownerReference(r: Reader): OwnerReference {
  const o: OwnerReference = { apiVersion: '', kind: '', name: '', uid: '' };
  r.fields((f, w) => {
    const str = w === BYTES ? OWNER_STRINGS[f] : undefined;
    const bool = w === VARINT ? OWNER_BOOLS[f] : undefined;
    if (str) o[str] = r.string();
    else if (bool) o[bool] = r.varint() !== 0;
    return str !== undefined || bool !== undefined;
  });
  return o;
}

/** What podMeta gathers before it is shaped as stripObject would. */
interface MetaParts {
  strings: Partial<
    Record<'name' | 'namespace' | 'uid' | 'resourceVersion' | 'creationTimestamp' | 'deletionTimestamp', string>
  >;
  generation: number;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
  owners: OwnerReference[];
}

/** ObjectMeta's length-delimited fields critsvc reads, by field number. */
const META_FIELDS: Record<number, (r: Reader, m: MetaParts) => void> = {
  1: (r, m) => {
    m.strings.name = r.string();
  },
  3: (r, m) => {
    m.strings.namespace = r.sharedString();
  },
  5: (r, m) => {
    m.strings.uid = r.string();
  },
  6: (r, m) => {
    m.strings.resourceVersion = r.string();
  },
  8: (r, m) => {
    m.strings.creationTimestamp = time(r.sub());
  },
  9: (r, m) => {
    m.strings.deletionTimestamp = time(r.sub());
  },
  11: (r, m) => mapEntry(r.sub(), (m.labels ??= {})),
  12: (r, m) => mapEntry(r.sub(), m.annotations, (k) => k === 'service-watcher'),
  13: (r, m) => {
    const o = ownerReference(r.sub());
    if (o.kind === 'CriticalService') m.owners.push(o);
  },
};

/** ObjectMeta, as stripObject keeps a pod's: the service-watcher annotation, CriticalService owners. */
function podMeta(r: Reader): ObjectMeta {
  const m: MetaParts = { strings: {}, generation: 0, annotations: {}, owners: [] };
  r.fields((f, w) => {
    if (w === VARINT && f === 7) m.generation = r.varint();
    else if (w === BYTES && META_FIELDS[f]) META_FIELDS[f](r, m);
    else return false;
    return true;
  });
  const { name, namespace, uid, resourceVersion, deletionTimestamp, creationTimestamp } = m.strings;
  // Protobuf writes every non-pointer field, zero values too; JSON omits them (omitempty).
  return {
    ...(name ? { name } : {}),
    ...(namespace ? { namespace } : {}),
    ...(uid ? { uid } : {}),
    ...(resourceVersion ? { resourceVersion } : {}),
    ...(m.generation ? { generation: m.generation } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(Object.keys(m.annotations).length ? { annotations: m.annotations } : {}),
    ...(deletionTimestamp ? { deletionTimestamp } : {}),
    ...(creationTimestamp ? { creationTimestamp } : {}),
    ...(m.owners.length ? { ownerReferences: m.owners } : {}),
  };
}

/** A PodCondition's type and status (1, 2). */
function condition(r: Reader): { type: string; status: string } {
  const c = { type: '', status: '' };
  r.bytesFields({
    1: () => {
      c.type = r.sharedString();
    },
    2: () => {
      c.status = r.sharedString();
    },
  });
  return c;
}

/** PodStatus as stripObject keeps it: phase (1), podIP (6), the Ready condition (2). */
function podStatus(r: Reader): Record<string, unknown> {
  let phase: string | undefined;
  let podIP: string | undefined;
  const ready: { type: string; status: string }[] = [];
  r.bytesFields({
    1: () => {
      phase = r.sharedString();
    },
    6: () => {
      podIP = r.string();
    },
    2: () => {
      const c = condition(r.sub());
      if (c.type === 'Ready') ready.push(c);
    },
  });
  return { ...(phase ? { phase } : {}), ...(podIP ? { podIP } : {}), ...(ready.length ? { conditions: ready } : {}) };
}

function pod(r: Reader): KubeObject {
  let metadata: ObjectMeta = {};
  let status: Record<string, unknown> | undefined;
  r.bytesFields({
    1: () => {
      metadata = podMeta(r.sub());
    },
    3: () => {
      status = podStatus(r.sub());
    },
  });
  return { metadata, status };
}

/** The runtime.Unknown inside the envelope: its raw bytes (field 2) are the encoded object. */
function unwrap(buf: Buffer): Reader {
  if (buf.length < 4 || MAGIC.some((b, i) => buf[i] !== b))
    throw new ProtobufError('not a Kubernetes protobuf answer (no k8s\\0 prefix)');
  if (!BinaryReader) throw new Error('useBinaryReader was not called');
  const br = new BinaryReader(buf);
  br.pos = 4;
  const unknown = new Reader(buf, br, buf.length);
  let raw: [number, number] | undefined;
  unknown.bytesFields({
    2: () => {
      raw = unknown.span();
    },
  });
  if (!raw) throw new ProtobufError('protobuf envelope without an object');
  br.pos = raw[0];
  return new Reader(buf, br, raw[1]);
}

/** BinaryReader's own errors (a tag of field 0, a premature end) as the hand reader's ProtobufError. */
function wrapped<T>(decode: (buf: Buffer) => T): (buf: Buffer) => T {
  return (buf) => {
    try {
      return decode(buf);
    } catch (err) {
      if (err instanceof ProtobufError || !(err instanceof Error)) throw err;
      throw new ProtobufError(err.message);
    }
  };
}

/** A PodList answer → its pods (stripped), resourceVersion and continue token. */
function decodePodListRaw(buf: Buffer): { items: KubeObject[]; resourceVersion: string; continue?: string } {
  const list = unwrap(buf);
  const items: KubeObject[] = [];
  let resourceVersion = '';
  let cont = '';
  list.bytesFields({
    2: () => {
      items.push(pod(list.sub()));
    },
    1: () => {
      const meta = list.sub();
      meta.bytesFields({
        2: () => {
          resourceVersion = meta.string();
        },
        3: () => {
          cont = meta.string();
        },
      });
    },
  });
  return { items, resourceVersion, ...(cont ? { continue: cont } : {}) };
}

/** A Status answer (an error) → its JSON form's fields: status (2), message (3), reason (4), code (6). */
function decodeStatusRaw(buf: Buffer): {
  kind: 'Status';
  apiVersion: 'v1';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
} {
  const r = unwrap(buf);
  const s: ReturnType<typeof decodeStatusRaw> = { kind: 'Status', apiVersion: 'v1' };
  r.fields((f, w) => {
    if (w === VARINT && f === 6) s.code = r.varint();
    else if (w !== BYTES) return false;
    else if (f === 2) s.status = r.string();
    else if (f === 3) s.message = r.string();
    else if (f === 4) s.reason = r.string();
    else return false;
    return true;
  });
  return s;
}

/** The same signatures as pod-protobuf.ts's. */
export const decodePodList = wrapped(decodePodListRaw);
export const decodeStatus = wrapped(decodeStatusRaw);
