// The PodTemplate, read when a default pod is needed (cached briefly: a failover burst reads
// it once). A missing or unusable template is remembered as a problem to report.
import { httpStatus } from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import { checkTemplate, type UsableTemplate } from './model/default-pod.ts';

const CACHE_MS = 5_000;

export class TemplateSource {
  private cached: { template: UsableTemplate; until: number } | undefined;
  /** Why the last attempt could not use the template; undefined once it works. */
  problem: string | undefined;
  private readonly kube: KubeActions;
  private readonly namespace: string;
  private readonly name: string;

  constructor(kube: KubeActions, namespace: string, name: string) {
    this.kube = kube;
    this.namespace = namespace;
    this.name = name;
  }

  async get(): Promise<{ ok: true; template: UsableTemplate } | { ok: false; error: string }> {
    if (this.cached && this.cached.until > Date.now()) return { ok: true, template: this.cached.template };
    const where = `PodTemplate ${this.namespace}/${this.name}`;
    let raw: unknown;
    try {
      raw = JSON.parse(JSON.stringify(await this.kube.readTemplate(this.namespace, this.name)));
    } catch (err) {
      const code = httpStatus(err);
      if (code === 404) return this.fail(`${where} not found`);
      if (code === 403) return this.fail(`${where} cannot be read: forbidden (check the handler's RBAC)`);
      throw err;
    }
    const checked = checkTemplate(raw);
    if (!checked.ok) return this.fail(`${where} is invalid: ${checked.error}`);
    this.cached = { template: checked.template, until: Date.now() + CACHE_MS };
    this.problem = undefined;
    return checked;
  }

  /** The API refused a pod built from the template: do not reuse it until read again. */
  invalidate(why: string): void {
    this.cached = undefined;
    this.problem = `PodTemplate ${this.namespace}/${this.name}: ${why}`;
  }

  private fail(error: string): { ok: false; error: string } {
    this.cached = undefined;
    this.problem = error;
    return { ok: false, error };
  }
}
