// Pure builders: the default pod (and warm pod) made from a checked PodTemplate, and whether the
// credentials it hands a pod may reach that namespace. The check itself: template-check.ts.
import {
  critCovers,
  desiredOwners,
  isConsidered,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  OWNER_ANNOTATION,
  OWNER_ANNOTATION_VALUE,
  SERVICE_LABEL,
  STANDBY_LABEL,
} from './rules.ts';
import type { CritInfo, OwnerRef, ServiceInfo, ServicePort } from './types.ts';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface UsableTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Json;
  /** Namespaced objects the spec refers to: they must exist in every namespace a default pod may land in. */
  references: string[];
  /**
   * The credentials the spec hands the pod (Secrets, tokens, PVCs, image pull Secrets), by field:
   * non-empty only when the PodTemplate opts in (ALLOW_CREDENTIALS_ANNOTATION), and then usable
   * only by default pods in the PodTemplate's own namespace (credentialsRefusal).
   */
  credentials: string[];
}

/**
 * The PodTemplate's own annotation (metadata.annotations of the PodTemplate, not of its
 * template) by which whoever may update PodTemplates in its namespace lets default pods in that
 * namespace, and only there, have the credentials the template names. They can create pods
 * mounting that namespace's Secrets already: it grants them nothing new.
 */
export const ALLOW_CREDENTIALS_ANNOTATION = 'critsvc.mycrd.com/allow-credentials';

/**
 * Whether a default pod in podNamespace may be made from a template whose PodTemplate lives in
 * templateRef.namespace: the opt-in lets its credentials reach pods in that namespace only. The
 * reason (the same whatever podNamespace, so that it is said once), or undefined.
 */
export function credentialsRefusal(
  template: UsableTemplate,
  templateRef: { namespace: string; name: string },
  podNamespace: string,
): string | undefined {
  if (template.credentials.length === 0 || podNamespace === templateRef.namespace) return undefined;
  return (
    `PodTemplate ${templateRef.namespace}/${templateRef.name} hands default pods credentials (${template.credentials.join('; ')}); ` +
    `its annotation ${ALLOW_CREDENTIALS_ANNOTATION} allows that only for default pods in its own namespace ${templateRef.namespace}, not for a Service in another namespace`
  );
}

/**
 * For a CriticalService's status: the credentials refusal of the first Service it covers outside
 * the template's namespace (its default pod would be refused), or undefined.
 */
export function credentialsProblem(
  template: UsableTemplate,
  templateRef: { namespace: string; name: string },
  crit: CritInfo,
  services: Iterable<ServiceInfo>,
  watched: readonly string[],
): string | undefined {
  if (template.credentials.length === 0 || crit.namespace === templateRef.namespace) return undefined;
  for (const svc of services) {
    if (svc.namespace === templateRef.namespace || !isConsidered(svc, watched) || !critCovers(crit, svc)) continue;
    return `${credentialsRefusal(template, templateRef, svc.namespace) ?? ''} (Service ${svc.key})`;
  }
  return undefined;
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
    out.push({
      ...(fromTemplate ?? {}),
      containerPort: target,
      protocol: port.protocol,
      ...(name && !fromTemplate?.name ? { name } : {}),
    });
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
  return {
    apiVersion: 'mycrd.com/v1',
    kind: 'CriticalService',
    name: o.name,
    uid: o.uid,
    controller: o.controller,
    blockOwnerDeletion: false,
  };
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
    name: PAGE_ENV[k],
    valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${PAGE_ANNOTATIONS[k]}']` } },
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
  const tcp = Array.isArray(first)
    ? first
        .filter((p) => isRecord(p) && (p.protocol ?? 'TCP') === 'TCP' && typeof p.containerPort === 'number')
        .map((p) => String((p as Json).containerPort))
    : [];
  const ctl = controllerCrit(owners);
  const page = {
    [PAGE_ANNOTATIONS.service]: svc.name,
    [PAGE_ANNOTATIONS.namespace]: svc.namespace,
    [PAGE_ANNOTATIONS.criticalService]: ctl?.name ?? '',
    [PAGE_ANNOTATIONS.message]: ctl?.message ?? '',
    [PAGE_ANNOTATIONS.ports]: tcp.join(','),
  };
  const initContainers = Array.isArray(template.spec.initContainers)
    ? { initContainers: template.spec.initContainers.filter(isRecord).map(withPageEnv) }
    : {};
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
export function buildStandbyPod(
  template: UsableTemplate,
  svc: ServiceInfo,
  generateName: string,
  owners: CritInfo[],
): Json {
  const pod = buildDefaultPod(template, svc, '', owners);
  const { name: _name, labels, ...meta } = pod.metadata as Json & { labels: Record<string, string> };
  const outside = Object.fromEntries(
    Object.entries(labels).filter(([k]) => !(k in svc.selector) || k === MANAGED_BY_LABEL || k === SERVICE_LABEL),
  );
  return { ...pod, metadata: { ...meta, generateName, labels: { ...outside, [STANDBY_LABEL]: 'true' } } };
}
