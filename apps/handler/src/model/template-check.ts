// The PodTemplate's check: what a default pod can be built from (UsableTemplate), or why not,
// and the namespaced objects its spec refers to.
import { ALLOW_CREDENTIALS_ANNOTATION, type UsableTemplate } from './default-pod.ts';
import { CONTAINER_LISTS, credentialFields, unsafeFields } from './template-safety.ts';

type Json = Record<string, unknown>;
const isRecord = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

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
