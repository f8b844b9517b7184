// Pure builders: the PodTemplate's check and the default pod made from it.
import { desiredOwners, MANAGED_BY_LABEL, MANAGED_BY_VALUE, OWNER_ANNOTATION, OWNER_ANNOTATION_VALUE, SERVICE_LABEL } from './rules.ts';
import type { CritInfo, OwnerRef, ServiceInfo, ServicePort } from './types.ts';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface UsableTemplate {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  spec: Json;
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
  const meta = isRecord(tmpl.metadata) ? tmpl.metadata : {};
  const strings = (v: unknown): Record<string, string> =>
    isRecord(v) ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string')) : {};
  return { ok: true, template: { labels: strings(meta.labels), annotations: strings(meta.annotations), spec } };
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

export function buildDefaultPod(template: UsableTemplate, svc: ServiceInfo, podName: string, owners: CritInfo[]): Json {
  const containers = (template.spec.containers as Json[]).map((c, i) => {
    if (i !== 0) return { ...c };
    const ports = containerPorts(svc, c.ports);
    const { ports: _drop, ...rest } = c;
    return ports && ports.length ? { ...rest, ports } : rest;
  });
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: podName,
      namespace: svc.namespace,
      labels: { ...template.labels, ...svc.selector, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SERVICE_LABEL]: svc.name },
      annotations: { ...template.annotations, [OWNER_ANNOTATION]: OWNER_ANNOTATION_VALUE },
      ownerReferences: desiredOwners([], owners).map(ownerReference),
    },
    spec: { ...template.spec, containers },
  };
}
