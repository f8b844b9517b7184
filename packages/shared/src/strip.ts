// Only what the handler reads travels through Redis: no managedFields, no pod spec, no
// last-applied annotations. Date objects from typed lists become the API's ISO strings.
import type { Kind, KubeObject, ObjectMeta } from './types.ts';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const iso = (v: unknown): string | undefined =>
  v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined;

function meta(m: unknown, keepAnnotations: (k: string) => boolean): ObjectMeta {
  if (!isRecord(m)) return {};
  const out: ObjectMeta = {};
  if (typeof m.name === 'string') out.name = m.name;
  if (typeof m.namespace === 'string') out.namespace = m.namespace;
  if (typeof m.uid === 'string') out.uid = m.uid;
  if (typeof m.resourceVersion === 'string') out.resourceVersion = m.resourceVersion;
  if (typeof m.generation === 'number') out.generation = m.generation;
  if (isRecord(m.labels)) out.labels = m.labels as Record<string, string>;
  return { ...out, ...annotations(m.annotations, keepAnnotations), ...times(m), ...critOwners(m.ownerReferences) };
}

function annotations(a: unknown, keep: (k: string) => boolean): Pick<ObjectMeta, 'annotations'> {
  const kept = isRecord(a) ? Object.entries(a).filter(([k]) => keep(k)) : [];
  return kept.length ? { annotations: Object.fromEntries(kept) as Record<string, string> } : {};
}

function times(m: Json): Pick<ObjectMeta, 'deletionTimestamp' | 'creationTimestamp'> {
  const deletion = iso(m.deletionTimestamp);
  const created = iso(m.creationTimestamp);
  return { ...(deletion ? { deletionTimestamp: deletion } : {}), ...(created ? { creationTimestamp: created } : {}) };
}

/** Only CriticalService owners: the handler keeps a default pod's owners in step with coverage. */
function critOwners(refs: unknown): Pick<ObjectMeta, 'ownerReferences'> {
  const owners = Array.isArray(refs) ? refs.filter((r) => isRecord(r) && r.kind === 'CriticalService') : [];
  return owners.length ? { ownerReferences: owners as ObjectMeta['ownerReferences'] } : {};
}

function podStatus(s: unknown): Json | undefined {
  if (!isRecord(s)) return undefined;
  const ready = Array.isArray(s.conditions)
    ? s.conditions
        .filter((c) => isRecord(c) && c.type === 'Ready')
        .map((c: Json) => ({ type: c.type, status: c.status }))
    : [];
  return {
    ...(typeof s.phase === 'string' ? { phase: s.phase } : {}),
    ...(typeof s.podIP === 'string' && s.podIP ? { podIP: s.podIP } : {}),
    ...(ready.length ? { conditions: ready } : {}),
  };
}

function serviceSpec(s: unknown): Json | undefined {
  if (!isRecord(s)) return undefined;
  return {
    selector: s.selector,
    type: s.type,
    ports: s.ports,
    ...(s.publishNotReadyAddresses === true ? { publishNotReadyAddresses: true } : {}),
  };
}

export function stripObject(kind: Kind, obj: unknown): KubeObject {
  const o = isRecord(obj) ? obj : {};
  if (kind === 'Pod') {
    // Only critsvc's own annotation matters on a pod (it is one of the ownership marks).
    return { metadata: meta(o.metadata, (k) => k === 'service-watcher'), status: podStatus(o.status) };
  }
  if (kind === 'Service') {
    return { metadata: meta(o.metadata, () => false), spec: serviceSpec(o.spec) };
  }
  return { metadata: meta(o.metadata, () => false), spec: o.spec };
}
