// What a PodTemplate's spec may not give a default pod: the fields Pod Security baseline refuses
// (and a node, a ServiceAccount, unlisted volumes), and the credentials it hands the pod.

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const CONTAINER_LISTS = ['initContainers', 'containers', 'ephemeralContainers'] as const;

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
