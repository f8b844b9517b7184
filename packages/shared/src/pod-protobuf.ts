// Pod lists in the API server's protobuf encoding, read straight into the stripped shape
// (stripObject's): only the fields critsvc reads are decoded, the rest (managedFields, the whole
// pod spec, container statuses) is skipped by its length without being parsed. Why: a page of
// JSON is a string of megabytes that JSON.parse turns into objects the strip throws away at once,
// and the API server encodes protobuf for less CPU (figures at listPodPage).
// Field numbers: k8s.io/api core/v1 and k8s.io/apimachinery meta/v1 generated.proto (stable: a
// protobuf field number is never reused). Wire format: https://protobuf.dev/programming-guides/encoding/
import { BYTES, intern, openReader, ProtobufError, VARINT, type OpenReader, type WireReader } from './protobuf-wire.ts';
import type { KubeObject, ObjectMeta, OwnerReference } from './types.ts';

/** What a list asks for: protobuf if the server has it (built-in kinds), else JSON. */
export const PROTOBUF_OR_JSON = 'application/vnd.kubernetes.protobuf, application/json';
export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** "k8s\0": the API server's protobuf envelope (a runtime.Unknown follows). */
const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** The JSON form of a metav1.Time: RFC 3339 at second precision, UTC ("2026-12-05T06:00:00Z"). */
function time(r: WireReader): string {
  let seconds = 0;
  r.fields((f, w) => (f === 1 && w === VARINT ? ((seconds = r.varint()), true) : false));
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * One map<string,string> entry (key 1, value 2) into `into`; `keep` filters by key, and a value
 * not kept is never decoded (annotations hold kilobytes: last-applied-configuration).
 */
function mapEntry(r: WireReader, into: Record<string, string>, keep?: (k: string) => boolean): void {
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

function ownerReference(r: WireReader): OwnerReference {
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
const META_FIELDS: Record<number, (r: WireReader, m: MetaParts) => void> = {
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
function podMeta(r: WireReader): ObjectMeta {
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
function condition(r: WireReader): { type: string; status: string } {
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
function podStatus(r: WireReader): Record<string, unknown> {
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

function pod(r: WireReader): KubeObject {
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
function unwrap(buf: Buffer, open: OpenReader): WireReader {
  if (buf.length < 4 || MAGIC.some((b, i) => buf[i] !== b))
    throw new ProtobufError('not a Kubernetes protobuf answer (no k8s\\0 prefix)');
  const unknown = open(buf, 4, buf.length);
  let raw: [number, number] | undefined;
  unknown.bytesFields({
    2: () => {
      raw = unknown.span();
    },
  });
  if (!raw) throw new ProtobufError('protobuf envelope without an object');
  return open(buf, raw[0], raw[1]);
}

/** A PodList answer → its pods (stripped), resourceVersion and continue token. */
export function decodePodList(
  buf: Buffer,
  open: OpenReader = openReader,
): { items: KubeObject[]; resourceVersion: string; continue?: string } {
  const list = unwrap(buf, open);
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
export function decodeStatus(
  buf: Buffer,
  open: OpenReader = openReader,
): {
  kind: 'Status';
  apiVersion: 'v1';
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
} {
  const r = unwrap(buf, open);
  const s: ReturnType<typeof decodeStatus> = { kind: 'Status', apiVersion: 'v1' };
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
