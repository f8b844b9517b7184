// Pure builders: the PodTemplate's check and the default pod made from it.
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

const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

/** Volume sources any default pod may have (projected: its sources are checked too). */
const SAFE_VOLUMES = new Set(['configMap', 'emptyDir', 'downwardAPI', 'projected', 'ephemeral']);
/** Volume sources that are credentials: only with the opt-in, only in the template's namespace. */
const CREDENTIAL_VOLUMES = new Set(['secret', 'persistentVolumeClaim']);
const SAFE_PROJECTIONS = new Set(['configMap', 'downwardAPI']);
const CREDENTIAL_PROJECTIONS = new Set(['secret', 'serviceAccountToken']);

/** Pod Security baseline: the safe (namespaced, isolated) sysctls. */
const SAFE_SYSCTLS = new Set([
  'kernel.shm_rmid_forced',
  'net.ipv4.ip_local_port_range',
  'net.ipv4.ip_unprivileged_port_start',
  'net.ipv4.tcp_syncookies',
  'net.ipv4.ping_group_range',
  'net.ipv4.ip_local_reserved_ports',
  'net.ipv4.tcp_keepalive_time',
  'net.ipv4.tcp_fin_timeout',
  'net.ipv4.tcp_keepalive_intvl',
  'net.ipv4.tcp_keepalive_probes',
]);
/** Pod Security baseline: SELinux types a pod or container may ask for ('' is none). */
const SELINUX_TYPES = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const HOOKS = ['postStart', 'preStop'] as const;

const records = (v: unknown): Json[] => (Array.isArray(v) ? v.filter(isRecord) : []);
const present = (v: Json): string[] =>
  Object.keys(v).filter((k) => k !== 'name' && v[k] !== undefined && v[k] !== null);
const containersOf = (spec: Json): [string, Json][] =>
  CONTAINER_LISTS.flatMap((list) =>
    records(spec[list]).map((c): [string, Json] => [`template.spec.${list}[${String(c.name)}]`, c]),
  );

/**
 * The handler may create pods in every namespace: whoever can edit the template must not get a
 * privileged pod, a node's namespaces or files, or a ServiceAccount's token through it. What Pod
 * Security baseline refuses, a chosen node or ServiceAccount, privilege escalation, and any volume
 * off the allowlist: refused whatever the PodTemplate says (credentials are credentialFields).
 */
export function unsafeFields(spec: Json, templateAnnotations: Json = {}): string[] {
  const out = [...unsafePodFields(spec), ...unsafeAppArmorAnnotations(templateAnnotations)];
  const psc = isRecord(spec.securityContext) ? spec.securityContext : {};
  out.push(...unsafeSecurityContext(psc, 'template.spec.securityContext'), ...unsafeSysctls(psc));
  for (const v of records(spec.volumes)) out.push(...unsafeVolume(v, `template.spec.volumes[${String(v.name)}]`));
  for (const [where, c] of containersOf(spec)) out.push(...unsafeContainer(c, where));
  return out;
}

function unsafePodFields(spec: Json): string[] {
  const out: string[] = [];
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    if (spec[f] === true) out.push(`template.spec.${f}: true`);
  for (const f of ['serviceAccountName', 'serviceAccount', 'nodeName'] as const)
    if (typeof spec[f] === 'string' && spec[f] !== '') out.push(`template.spec.${f}: ${String(spec[f])}`);
  if (spec.automountServiceAccountToken === true) out.push('template.spec.automountServiceAccountToken: true');
  return out;
}

/** AppArmor by the legacy annotation (the template's metadata): runtime/default or localhost/* only. */
function unsafeAppArmorAnnotations(annotations: Json): string[] {
  return Object.entries(annotations)
    .filter(
      ([k, v]) => k.startsWith(APPARMOR_ANNOTATION) && v !== 'runtime/default' && !String(v).startsWith('localhost/'),
    )
    .map(([k, v]) => `template.metadata.annotations[${k}]: ${String(v)}`);
}

/** What Pod Security baseline refuses in a pod's or a container's securityContext alike. */
function unsafeSecurityContext(sc: Json, where: string): string[] {
  const out: string[] = [];
  const seccomp = isRecord(sc.seccompProfile) ? sc.seccompProfile.type : undefined;
  if (seccomp === 'Unconfined') out.push(`${where}.seccompProfile.type: Unconfined`);
  const apparmor = isRecord(sc.appArmorProfile) ? sc.appArmorProfile.type : undefined;
  if (apparmor === 'Unconfined') out.push(`${where}.appArmorProfile.type: Unconfined`);
  if (isRecord(sc.windowsOptions) && sc.windowsOptions.hostProcess === true)
    out.push(`${where}.windowsOptions.hostProcess: true`);
  return [...out, ...unsafeSeLinux(isRecord(sc.seLinuxOptions) ? sc.seLinuxOptions : {}, `${where}.seLinuxOptions`)];
}

/** Pod Security baseline: a container type of SELinux, no user or role. */
function unsafeSeLinux(se: Json, where: string): string[] {
  const out: string[] = [];
  if (se.type !== undefined && se.type !== null && !SELINUX_TYPES.has(String(se.type)))
    out.push(`${where}.type: ${String(se.type)}`);
  for (const f of ['user', 'role'] as const)
    if (se[f] !== undefined && se[f] !== null && se[f] !== '') out.push(`${where}.${f}: ${String(se[f])}`);
  return out;
}

function unsafeSysctls(psc: Json): string[] {
  return records(psc.sysctls)
    .filter((s) => !SAFE_SYSCTLS.has(String(s.name)))
    .map((s) => `template.spec.securityContext.sysctls[${String(s.name)}]`);
}

/** A volume off the allowlist: not a safe source, not a credential (those wait for the opt-in). */
function unsafeVolume(v: Json, where: string): string[] {
  const out = present(v)
    .filter((k) => !SAFE_VOLUMES.has(k) && !CREDENTIAL_VOLUMES.has(k))
    .map((k) => `${where}.${k}`);
  const sources = isRecord(v.projected) ? records(v.projected.sources) : [];
  sources.forEach((s, i) => {
    for (const k of present(s))
      if (!SAFE_PROJECTIONS.has(k) && !CREDENTIAL_PROJECTIONS.has(k)) out.push(`${where}.projected.sources[${i}].${k}`);
  });
  return out;
}

function unsafeContainer(c: Json, where: string): string[] {
  const sc = isRecord(c.securityContext) ? c.securityContext : {};
  const caps = isRecord(sc.capabilities) && Array.isArray(sc.capabilities.add) ? sc.capabilities.add.map(String) : [];
  const ports = records(c.ports);
  return [
    ...(sc.privileged === true ? [`${where}.securityContext.privileged: true`] : []),
    ...(sc.allowPrivilegeEscalation === true ? [`${where}.securityContext.allowPrivilegeEscalation: true`] : []),
    ...(caps.length ? [`${where}.securityContext.capabilities.add: ${caps.join(',')}`] : []),
    ...(sc.procMount !== undefined && sc.procMount !== 'Default'
      ? [`${where}.securityContext.procMount: ${String(sc.procMount)}`]
      : []),
    ...unsafeSecurityContext(sc, `${where}.securityContext`),
    ...ports
      .filter((p) => p.hostPort !== undefined && p.hostPort !== 0)
      .map((p) => `${where}.ports.hostPort: ${String(p.hostPort)}`),
    ...hostHandlers(c, where),
  ];
}

/** Pod Security baseline: probes and lifecycle hooks may not name a host (they would reach any address from the node). */
function hostHandlers(c: Json, where: string): string[] {
  const handlers: [string, unknown][] = [
    ...PROBES.map((p): [string, unknown] => [`${where}.${p}`, c[p]]),
    ...HOOKS.map((h): [string, unknown] => [
      `${where}.lifecycle.${h}`,
      isRecord(c.lifecycle) ? c.lifecycle[h] : undefined,
    ]),
  ];
  const out: string[] = [];
  for (const [at, handler] of handlers) {
    if (!isRecord(handler)) continue;
    for (const kind of ['httpGet', 'tcpSocket'] as const) {
      const action = handler[kind];
      if (isRecord(action) && action.host !== undefined && action.host !== '')
        out.push(`${at}.${kind}.host: ${String(action.host)}`);
    }
  }
  return out;
}

/**
 * The credentials the spec hands the pod: Secret and PVC volumes, projected Secrets and
 * ServiceAccount tokens, an ephemeral volume cloned from another (dataSource), env from Secrets,
 * image pull Secrets. Refused unless the PodTemplate opts in, and then only for default pods in
 * its own namespace.
 */
export function credentialFields(spec: Json): string[] {
  const out = records(spec.imagePullSecrets).map((p) => `template.spec.imagePullSecrets[${String(p.name)}]`);
  for (const v of records(spec.volumes)) out.push(...credentialVolume(v, `template.spec.volumes[${String(v.name)}]`));
  for (const [where, c] of containersOf(spec)) out.push(...credentialEnv(c, where));
  return out;
}

function credentialVolume(v: Json, where: string): string[] {
  const out = present(v)
    .filter((k) => CREDENTIAL_VOLUMES.has(k))
    .map((k) => `${where}.${k}`);
  const sources = isRecord(v.projected) ? records(v.projected.sources) : [];
  sources.forEach((s, i) => {
    for (const k of present(s)) if (CREDENTIAL_PROJECTIONS.has(k)) out.push(`${where}.projected.sources[${i}].${k}`);
  });
  const claim =
    isRecord(v.ephemeral) && isRecord(v.ephemeral.volumeClaimTemplate)
      ? v.ephemeral.volumeClaimTemplate.spec
      : undefined;
  if (isRecord(claim))
    for (const f of ['dataSource', 'dataSourceRef'] as const)
      if (isRecord(claim[f])) out.push(`${where}.ephemeral.volumeClaimTemplate.spec.${f}`);
  return out;
}

function credentialEnv(c: Json, where: string): string[] {
  const out = records(c.env)
    .filter((e) => isRecord(e.valueFrom) && isRecord(e.valueFrom.secretKeyRef))
    .map((e) => `${where}.env[${String(e.name)}].valueFrom.secretKeyRef`);
  records(c.envFrom).forEach((e, i) => {
    if (isRecord(e.secretRef)) out.push(`${where}.envFrom[${i}].secretRef`);
  });
  return out;
}

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
  const sources =
    isRecord(v.projected) && Array.isArray(v.projected.sources) ? v.projected.sources.filter(isRecord) : [];
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
  if (!Array.isArray(containers) || containers.length === 0)
    return { ok: false, error: 'template.spec.containers is empty' };
  if (
    !containers.every((c) => isRecord(c) && typeof c.name === 'string' && typeof c.image === 'string' && c.image !== '')
  ) {
    return { ok: false, error: 'every container of template.spec needs a name and an image' };
  }
  const meta = isRecord(tmpl.metadata) ? tmpl.metadata : {};
  const credentials = credentialFields(spec);
  const refused = refusal(
    unsafeFields(spec, isRecord(meta.annotations) ? meta.annotations : {}),
    credentialsAllowed(obj) ? [] : credentials,
  );
  if (refused) return { ok: false, error: refused };
  const strings = (v: unknown): Record<string, string> =>
    isRecord(v)
      ? Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'))
      : {};
  return {
    ok: true,
    template: {
      labels: strings(meta.labels),
      annotations: strings(meta.annotations),
      spec,
      references: namespacedReferences(spec),
      credentials,
    },
  };
}

/** The PodTemplate's own annotation says "true" (the template's metadata does not count: it is copied to the pod). */
function credentialsAllowed(obj: unknown): boolean {
  const annotations =
    isRecord(obj) && isRecord(obj.metadata) && isRecord(obj.metadata.annotations) ? obj.metadata.annotations : {};
  return annotations[ALLOW_CREDENTIALS_ANNOTATION] === 'true';
}

function refusal(unsafe: string[], credentials: string[]): string | undefined {
  if (unsafe.length === 0 && credentials.length === 0) return undefined;
  const hint = credentials.length
    ? `; credentials (Secrets, ServiceAccount tokens, PVCs, image pull Secrets) only with the PodTemplate's annotation ${ALLOW_CREDENTIALS_ANNOTATION}: "true", and then only for default pods in the PodTemplate's own namespace`
    : '';
  return `asks for what default pods may not have (they are unprivileged): ${[...unsafe, ...credentials].join('; ')}${hint}`;
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
