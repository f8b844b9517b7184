// Pure builders: the PodTemplate's check and the default pod made from it.
import { desiredOwners, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_ANNOTATION, OWNER_ANNOTATION_VALUE, SERVICE_LABEL, STANDBY_LABEL } from './rules.ts';
import type { CritInfo, OwnerRef, ServiceInfo, ServicePort } from './types.ts';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface UsableTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Json;
  /** Namespaced objects the spec refers to: they must exist in every namespace a default pod may land in. */
  references: string[];
}

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/**
 * The handler may create pods in every namespace: whoever can edit the template must not get a
 * privileged pod, a node's namespaces or files, or a ServiceAccount's token through it.
 */
export function unsafeFields(spec: Json): string[] {
  const out = unsafePodFields(spec);
  const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter(isRecord) : [];
  for (const v of volumes) if (v.hostPath !== undefined) out.push(`template.spec.volumes[${String(v.name)}].hostPath`);
  for (const list of CONTAINER_LISTS) {
    const containers = Array.isArray(spec[list]) ? (spec[list] as unknown[]).filter(isRecord) : [];
    for (const c of containers) out.push(...unsafeContainer(c, `template.spec.${list}[${String(c.name)}]`));
  }
  return out;
}

function unsafePodFields(spec: Json): string[] {
  const out: string[] = [];
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'] as const) if (spec[f] === true) out.push(`template.spec.${f}: true`);
  for (const f of ['serviceAccountName', 'serviceAccount'] as const) if (typeof spec[f] === 'string' && spec[f] !== '') out.push(`template.spec.${f}: ${String(spec[f])}`);
  if (spec.automountServiceAccountToken === true) out.push('template.spec.automountServiceAccountToken: true');
  return out;
}

function unsafeContainer(c: Json, where: string): string[] {
  const sc = isRecord(c.securityContext) ? c.securityContext : {};
  const caps = isRecord(sc.capabilities) && Array.isArray(sc.capabilities.add) ? sc.capabilities.add : [];
  const ports = Array.isArray(c.ports) ? c.ports.filter(isRecord) : [];
  return [
    ...(sc.privileged === true ? [`${where}.securityContext.privileged: true`] : []),
    ...(sc.allowPrivilegeEscalation === true ? [`${where}.securityContext.allowPrivilegeEscalation: true`] : []),
    ...(caps.length ? [`${where}.securityContext.capabilities.add: ${caps.map(String).join(',')}`] : []),
    ...ports.filter((p) => p.hostPort !== undefined && p.hostPort !== 0).map((p) => `${where}.ports.hostPort: ${String(p.hostPort)}`),
  ];
}

/** Secrets, ConfigMaps and image pull Secrets named by the spec (they are looked up in the pod's namespace). */
export function namespacedReferences(spec: Json): string[] {
  const refs = new Set<string>();
  const pulls = Array.isArray(spec.imagePullSecrets) ? spec.imagePullSecrets.filter(isRecord) : [];
  for (const p of pulls) refs.add(`Secret ${String(p.name)} (imagePullSecrets)`);
  const volumes = Array.isArray(spec.volumes) ? spec.volumes.filter(isRecord) : [];
  for (const v of volumes) for (const r of volumeRefs(v)) refs.add(r);
  for (const list of CONTAINER_LISTS) {
    const containers = Array.isArray(spec[list]) ? (spec[list] as unknown[]).filter(isRecord) : [];
    for (const c of containers) for (const r of envRefs(c)) refs.add(r);
  }
  return [...refs].sort();
}

function volumeRefs(v: Json): string[] {
  const out: string[] = [];
  if (isRecord(v.secret)) out.push(`Secret ${String(v.secret.secretName)}`);
  if (isRecord(v.configMap)) out.push(`ConfigMap ${String(v.configMap.name)}`);
  const sources = isRecord(v.projected) && Array.isArray(v.projected.sources) ? v.projected.sources.filter(isRecord) : [];
  for (const s of sources) {
    if (isRecord(s.secret)) out.push(`Secret ${String(s.secret.name)}`);
    if (isRecord(s.configMap)) out.push(`ConfigMap ${String(s.configMap.name)}`);
  }
  return out;
}

function envRefs(c: Json): string[] {
  const out: string[] = [];
  const env = Array.isArray(c.env) ? c.env.filter(isRecord) : [];
  for (const e of env) {
    const from = isRecord(e.valueFrom) ? e.valueFrom : {};
    if (isRecord(from.secretKeyRef)) out.push(`Secret ${String(from.secretKeyRef.name)}`);
    if (isRecord(from.configMapKeyRef)) out.push(`ConfigMap ${String(from.configMapKeyRef.name)}`);
  }
  const envFrom = Array.isArray(c.envFrom) ? c.envFrom.filter(isRecord) : [];
  for (const e of envFrom) {
    if (isRecord(e.secretRef)) out.push(`Secret ${String(e.secretRef.name)}`);
    if (isRecord(e.configMapRef)) out.push(`ConfigMap ${String(e.configMapRef.name)}`);
  }
  return out;
}

/** A PodTemplate object (as read from the API) → what a pod can be built from, or why not. */
export function checkTemplate(obj: unknown): { ok: true; template: UsableTemplate } | { ok: false; error: string } {
  const tmpl = isRecord(obj) && isRecord(obj.template) ? obj.template : undefined;
  if (!tmpl) return { ok: false, error: 'the PodTemplate has no template' };
  const spec = tmpl.spec;
  if (!isRecord(spec)) return { ok: false, error: 'template.spec is missing' };
  const containers = spec.containers;
  if (!Array.isArray(containers) || containers.length === 0) return { ok: false, error: 'template.spec.containers is empty' };
  if (!containers.every((c) => isRecord(c) && typeof c.name === 'string' && typeof c.image === 'string' && c.image !== '')) {
    return { ok: false, error: 'every container of template.spec needs a name and an image' };
  }
  const unsafe = unsafeFields(spec);
  if (unsafe.length) return { ok: false, error: `asks for what default pods may not have (they are unprivileged): ${unsafe.join('; ')}` };
  const meta = isRecord(tmpl.metadata) ? tmpl.metadata : {};
  const strings = (v: unknown): Record<string, string> =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  return { ok: true, template: { labels: strings(meta.labels), annotations: strings(meta.annotations), spec, references: namespacedReferences(spec) } };
}

const PORT_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** The article's improvement 3: the container listens where the Service sends traffic. */
export function containerPorts(svc: ServiceInfo, templatePorts: unknown): unknown[] | undefined {
  const existing = Array.isArray(templatePorts) ? templatePorts.filter(isRecord) : [];
  const numeric = numericTargets(svc);
  const namedTargets = new Set(svc.ports.map((p) => p.targetPort).filter((t): t is string => typeof t === 'string'));
  if (numeric.length === 0) return Array.isArray(templatePorts) ? existing : undefined;
  const out: Json[] = existing.filter((p) => typeof p.name === 'string' && namedTargets.has(p.name));
  const seen = new Set(out.map((p) => `${String(p.containerPort)}/${String(p.protocol ?? 'TCP')}`));
  const names = new Set(out.map((p) => p.name));
  for (const { port, target } of numeric) {
    const id = `${target}/${port.protocol}`;
    if (seen.has(id)) continue;
    seen.add(id);
    const fromTemplate = existing.find((p) => p.containerPort === target && (p.protocol ?? 'TCP') === port.protocol);
    const name = usablePortName(port.name, names);
    if (name) names.add(name);
    out.push({ ...(fromTemplate ?? {}), containerPort: target, protocol: port.protocol, ...(name && !fromTemplate?.name ? { name } : {}) });
  }
  return out;
}

function numericTargets(svc: ServiceInfo): { port: ServicePort; target: number }[] {
  return svc.ports.flatMap((p) => {
    const target = p.targetPort ?? p.port;
    return typeof target === 'number' ? [{ port: p, target }] : [];
  });
}

/** The Service port's name, if the API accepts it as a container port name not used yet. */
function usablePortName(name: string | undefined, taken: ReadonlySet<unknown>): string | undefined {
  return name && name.length <= 15 && PORT_NAME.test(name) && /[a-z]/.test(name) && !taken.has(name) ? name : undefined;
}

/** blockOwnerDeletion false: deleting a CriticalService never waits on its default pods. */
export function ownerReference(o: OwnerRef): Record<string, unknown> {
  return { apiVersion: 'mycrd.com/v1', kind: 'CriticalService', name: o.name, uid: o.uid, controller: o.controller, blockOwnerDeletion: false };
}

/**
 * What a default pod is told of its job (the maintenance page shows it): annotations, which the
 * downward API hands to its containers as env (and as files, if the template mounts them), in
 * whatever namespace the pod lands.
 */
export const PAGE_ANNOTATIONS = {
  service: 'critsvc.mycrd.com/service',
  namespace: 'critsvc.mycrd.com/namespace',
  criticalService: 'critsvc.mycrd.com/critical-service',
  message: 'critsvc.mycrd.com/message',
  /** The TCP ports the Service sends traffic to, comma-separated: where the page must listen. */
  ports: 'critsvc.mycrd.com/ports',
} as const;

export const PAGE_ENV: Readonly<Record<keyof typeof PAGE_ANNOTATIONS, string>> = {
  service: 'CRITSVC_SERVICE',
  namespace: 'CRITSVC_NAMESPACE',
  criticalService: 'CRITSVC_CRITICAL_SERVICE',
  message: 'CRITSVC_MESSAGE',
  ports: 'CRITSVC_PORTS',
};

const PAGE_ENV_NAMES = new Set(Object.values(PAGE_ENV));

/** The downward API env, first (the template's own env may use $(CRITSVC_MESSAGE)); the template's entries of the same names give way. */
function withPageEnv(c: Json): Json {
  const own = Array.isArray(c.env) ? c.env.filter((e) => !(isRecord(e) && PAGE_ENV_NAMES.has(String(e.name)))) : [];
  const page = (Object.keys(PAGE_ENV) as (keyof typeof PAGE_ENV)[]).map((k) => ({
    name: PAGE_ENV[k], valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${PAGE_ANNOTATIONS[k]}']` } },
  }));
  return { ...c, env: [...page, ...own] };
}

/**
 * The CriticalService a Service's default pod belongs to (its controller owner): the first
 * covering it by name. Its template and message make the pod.
 */
export function controllerCrit(owners: readonly CritInfo[]): CritInfo | undefined {
  return [...owners].sort((a, b) => a.name.localeCompare(b.name))[0];
}

export function buildDefaultPod(template: UsableTemplate, svc: ServiceInfo, podName: string, owners: CritInfo[]): Json {
  const containers = (template.spec.containers as Json[]).map((c, i) => {
    if (i !== 0) return withPageEnv(c);
    const ports = containerPorts(svc, c.ports);
    const { ports: _drop, ...rest } = c;
    return withPageEnv(ports && ports.length ? { ...rest, ports } : rest);
  });
  const first = containers[0]?.ports;
  const tcp = Array.isArray(first) ? first.filter((p) => isRecord(p) && (p.protocol ?? 'TCP') === 'TCP' && typeof p.containerPort === 'number').map((p) => String((p as Json).containerPort)) : [];
  const ctl = controllerCrit(owners);
  const page = {
    [PAGE_ANNOTATIONS.service]: svc.name,
    [PAGE_ANNOTATIONS.namespace]: svc.namespace,
    [PAGE_ANNOTATIONS.criticalService]: ctl?.name ?? '',
    [PAGE_ANNOTATIONS.message]: ctl?.message ?? '',
    [PAGE_ANNOTATIONS.ports]: tcp.join(','),
  };
  const initContainers = Array.isArray(template.spec.initContainers) ? { initContainers: template.spec.initContainers.filter(isRecord).map(withPageEnv) } : {};
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: svc.namespace,
      labels: { ...template.labels, ...svc.selector, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SERVICE_LABEL]: svc.name },
      annotations: { ...template.annotations, ...page, [OWNER_ANNOTATION]: OWNER_ANNOTATION_VALUE },
      ownerReferences: desiredOwners([], owners).map(ownerReference),
    },
    // No ServiceAccount token: a default pod never talks to the API server.
    spec: { ...template.spec, containers, ...initContainers, automountServiceAccountToken: false },
  };
}

/**
 * A warm pod for the Service (hot standby): the default pod it would get, started in advance but
 * outside the Service's selector (none of the selector's labels, the standby label), so that it
 * serves nobody until promoted. The API server names it (generateName).
 */
export function buildStandbyPod(template: UsableTemplate, svc: ServiceInfo, generateName: string, owners: CritInfo[]): Json {
  const pod = buildDefaultPod(template, svc, '', owners);
  const { name: _name, labels, ...meta } = pod.metadata as Json & { labels: Record<string, string> };
  const outside = Object.fromEntries(Object.entries(labels).filter(([k]) => !(k in svc.selector) || k === MANAGED_BY_LABEL || k === SERVICE_LABEL));
  return { ...pod, metadata: { ...meta, generateName, labels: { ...outside, [STANDBY_LABEL]: 'true' } } };
}

