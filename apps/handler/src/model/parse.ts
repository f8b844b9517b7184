// Raw objects from the queue → validated infos. A malformed object yields an error string for
// the log instead of an exception: one bad object must never stop the handler.
import type { KubeObject } from '@critsvc/shared/model';
import { hasOwnershipMarks, OWNER_ANNOTATION, OWNER_ANNOTATION_VALUE, SERVICE_LABEL, STANDBY_LABEL } from './rules.ts';
import type { CritInfo, LabelPair, Labels, OwnerRef, PodInfo, ServiceInfo, ServicePort, TemplateRef } from './types.ts';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function stringMap(v: unknown): Labels {
  if (!isRecord(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

interface Ident {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
}

function ident(obj: KubeObject, namespaced: boolean): Parsed<Ident> {
  const m = obj.metadata;
  if (!isRecord(m)) return { ok: false, error: 'metadata missing' };
  if (typeof m.name !== 'string' || m.name === '') return { ok: false, error: 'metadata.name missing' };
  if (namespaced && (typeof m.namespace !== 'string' || m.namespace === ''))
    return { ok: false, error: 'metadata.namespace missing' };
  return {
    ok: true,
    value: {
      name: m.name,
      namespace: namespaced ? String(m.namespace) : '',
      uid: typeof m.uid === 'string' ? m.uid : '',
      resourceVersion: typeof m.resourceVersion === 'string' ? m.resourceVersion : '',
    },
  };
}

function ports(spec: Record<string, unknown>): ServicePort[] {
  if (!Array.isArray(spec.ports)) return [];
  return spec.ports.filter(isRecord).flatMap((p): ServicePort[] => {
    if (typeof p.port !== 'number') return [];
    const tp = typeof p.targetPort === 'number' || typeof p.targetPort === 'string' ? p.targetPort : undefined;
    return [
      {
        port: p.port,
        protocol: typeof p.protocol === 'string' ? p.protocol : 'TCP',
        ...(typeof p.name === 'string' ? { name: p.name } : {}),
        ...(tp !== undefined ? { targetPort: tp } : {}),
      },
    ];
  });
}

export function parseService(obj: KubeObject): Parsed<ServiceInfo> {
  const id = ident(obj, true);
  if (!id.ok) return id;
  const spec = isRecord(obj.spec) ? obj.spec : {};
  return {
    ok: true,
    value: {
      ...id.value,
      key: `${id.value.namespace}/${id.value.name}`,
      labels: stringMap(obj.metadata?.labels),
      selector: stringMap(spec.selector),
      type: typeof spec.type === 'string' ? spec.type : 'ClusterIP',
      ports: ports(spec),
      publishNotReady: spec.publishNotReadyAddresses === true,
    },
  };
}

function podReady(status: Record<string, unknown>): boolean {
  if (!Array.isArray(status.conditions)) return false;
  return status.conditions.some((c) => isRecord(c) && c.type === 'Ready' && c.status === 'True');
}

/** The CriticalServices among a pod's ownerReferences. */
function critOwners(refs: unknown): OwnerRef[] {
  if (!Array.isArray(refs)) return [];
  return refs
    .filter(isRecord)
    .flatMap((r): OwnerRef[] =>
      r.kind === 'CriticalService' &&
      typeof r.apiVersion === 'string' &&
      r.apiVersion.startsWith('mycrd.com/') &&
      typeof r.name === 'string' &&
      typeof r.uid === 'string'
        ? [{ name: r.name, uid: r.uid, controller: r.controller === true }]
        : [],
    );
}

export function parsePod(obj: KubeObject): Parsed<PodInfo> {
  const id = ident(obj, true);
  if (!id.ok) return id;
  const labels = stringMap(obj.metadata?.labels);
  const annotations = stringMap(obj.metadata?.annotations);
  const owned = hasOwnershipMarks(labels, annotations);
  const forService = owned ? labels[SERVICE_LABEL] : undefined;
  return {
    ok: true,
    value: {
      ...id.value,
      key: `${id.value.namespace}/${id.value.name}`,
      labels,
      owned,
      legacy: !owned && annotations[OWNER_ANNOTATION] === OWNER_ANNOTATION_VALUE,
      ...(forService !== undefined ? { forService } : {}),
      standby: owned && labels[STANDBY_LABEL] === 'true',
      ...(owned ? { owners: critOwners(obj.metadata?.ownerReferences) } : {}),
      terminating: typeof obj.metadata?.deletionTimestamp === 'string',
      ...podStatus(obj.status),
      // A slot of its own from the start: set afterwards, V8 would give each of 100,000s of pods a property array.
      listedIn: undefined,
    },
  };
}

function podStatus(raw: unknown): Pick<PodInfo, 'phase' | 'ready' | 'hasIP'> {
  const status = isRecord(raw) ? raw : {};
  return {
    phase: typeof status.phase === 'string' ? status.phase : 'Pending',
    ready: podReady(status),
    hasIP: typeof status.podIP === 'string' && status.podIP !== '',
  };
}

/** The schema rejects most of this, but objects stored before a schema change can hold anything. */
export function parseCriticalService(obj: KubeObject): Parsed<CritInfo> {
  const id = ident(obj, false);
  if (!id.ok) return id;
  const spec = isRecord(obj.spec) ? obj.spec : undefined;
  const namespace = critNamespace(spec);
  const matchLabels = critMatchLabels(spec);
  const defaultPod = critDefaultPod(spec);
  const problems = [
    ...(spec ? [] : ['spec is missing']),
    ...namespace.problems,
    ...matchLabels.problems,
    ...defaultPod.problems,
  ];
  const generation = typeof obj.metadata?.generation === 'number' ? obj.metadata.generation : 0;
  return {
    ok: true,
    value: {
      name: id.value.name,
      uid: id.value.uid,
      resourceVersion: id.value.resourceVersion,
      generation,
      ...(namespace.value !== undefined ? { namespace: namespace.value } : {}),
      matchLabels: matchLabels.value,
      ...defaultPod.value,
      problems,
    },
  };
}

/** A part of a CriticalService's spec: what is usable of it, and what is wrong with it. */
interface Checked<T> {
  value: T;
  problems: string[];
}

function critNamespace(spec: Record<string, unknown> | undefined): Checked<string | undefined> {
  const ns = spec?.namespace;
  if (ns === undefined || ns === null) return { value: undefined, problems: [] };
  if (typeof ns === 'string' && ns !== '') return { value: ns, problems: [] };
  return { value: undefined, problems: ['spec.namespace must be a non-empty string'] };
}

function critMatchLabels(spec: Record<string, unknown> | undefined): Checked<LabelPair[]> {
  // A missing spec is reported once, by the caller.
  if (!spec) return { value: [], problems: [] };
  const items = spec.matchLabels;
  if (!Array.isArray(items) || items.length === 0)
    return { value: [], problems: ['spec.matchLabels must be a non-empty list of {key, value}'] };
  const value: LabelPair[] = [];
  const problems: string[] = [];
  items.forEach((item: unknown, i: number) => {
    if (isRecord(item) && typeof item.key === 'string' && item.key !== '' && typeof item.value === 'string') {
      value.push({ key: item.key, value: item.value });
    } else {
      problems.push(`spec.matchLabels[${i}] needs a string key and value`);
    }
  });
  return { value, problems: [...problems, ...conflictingKeys(value)] };
}

/**
 * A key asked for with two values matches no Service (a label has one value): reported, as the
 * CRD's rule refuses it now (objects stored before it can hold it). The same pair twice is
 * only redundant: it still covers what it did, so it is not a problem here.
 */
function conflictingKeys(pairs: LabelPair[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const { key, value } of pairs) values.set(key, (values.get(key) ?? new Set()).add(value));
  return [...values]
    .filter(([, v]) => v.size > 1)
    .map(
      ([key, v]) =>
        `spec.matchLabels asks for ${key} to be ${[...v].map((x) => `"${x}"`).join(' and ')}: no Service can match`,
    );
}

/** The CRD's limits, checked again here (lengths in code points, as the schema counts): objects stored before the schema can hold anything. */
export const MESSAGE_MAX = 1024;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

type DefaultPodSpec = Pick<CritInfo, 'templateRef' | 'message' | 'hotStandby'>;

function critDefaultPod(spec: Record<string, unknown> | undefined): Checked<DefaultPodSpec> {
  const dp = spec?.defaultPod;
  if (dp === undefined || dp === null) return { value: {}, problems: [] };
  if (!isRecord(dp)) return { value: {}, problems: ['spec.defaultPod must be an object'] };
  const ref = templateRef(dp.templateRef);
  const message = pageMessage(dp.message);
  const hotStandby = optionalBoolean(dp.hotStandby, 'spec.defaultPod.hotStandby');
  return {
    value: {
      ...(ref.value ? { templateRef: ref.value } : {}),
      ...(message.value !== undefined ? { message: message.value } : {}),
      ...(hotStandby.value ? { hotStandby: true } : {}),
    },
    problems: [...ref.problems, ...message.problems, ...hotStandby.problems],
  };
}

function pageMessage(msg: unknown): Checked<string | undefined> {
  if (msg === undefined || msg === null) return { value: undefined, problems: [] };
  if (typeof msg === 'string' && [...msg].length <= MESSAGE_MAX) return { value: msg, problems: [] };
  return {
    value: undefined,
    problems: [`spec.defaultPod.message must be a string of at most ${MESSAGE_MAX} characters`],
  };
}

function optionalBoolean(v: unknown, field: string): Checked<boolean | undefined> {
  if (v === undefined || v === null) return { value: undefined, problems: [] };
  return typeof v === 'boolean'
    ? { value: v, problems: [] }
    : { value: undefined, problems: [`${field} must be true or false`] };
}

function templateRef(ref: unknown): Checked<TemplateRef | undefined> {
  if (ref === undefined || ref === null) return { value: undefined, problems: [] };
  const r = isRecord(ref) ? ref : {};
  const problems: string[] = [];
  if (typeof r.namespace !== 'string' || r.namespace.length > 63 || !DNS_LABEL.test(r.namespace))
    problems.push('spec.defaultPod.templateRef.namespace must be a DNS label (a namespace name)');
  if (typeof r.name !== 'string' || r.name.length > 253 || !DNS_SUBDOMAIN.test(r.name))
    problems.push('spec.defaultPod.templateRef.name must be a DNS subdomain (a PodTemplate name)');
  return problems.length
    ? { value: undefined, problems }
    : { value: { namespace: String(r.namespace), name: String(r.name) }, problems };
}
