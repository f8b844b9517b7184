// The versions of Services and CriticalServices the API server itself gave the handler (its own
// lists, its live reads), not the queue. A failover's create goes before its live check only for
// a Service and CriticalServices the state holds at such a version: a forged Service or
// CriticalService (a selector copied from a real Service, any PodTemplate named) is checked
// before anything is created from it.
import type { Kind, KubeObject } from '@critsvc/shared';

export class Confirmed {
  private readonly versions = new Map<string, string>();

  /**
   * An object as the API server gave it (a list, a read); undefined: it is gone. A Service by its
   * resourceVersion; a CriticalService by uid and generation, as the handler's own status writes
   * change its resourceVersion and not its spec.
   */
  note(kind: Kind, key: string, live: KubeObject | undefined): void {
    if (kind === 'Pod') return;
    const m = live?.metadata;
    const version =
      kind === 'CriticalService' ? (m?.uid ? `${m.uid}/${m.generation ?? 0}` : undefined) : m?.resourceVersion;
    if (version) this.versions.set(`${kind}/${key}`, version);
    else this.versions.delete(`${kind}/${key}`);
  }

  /** The state's Service, at a resourceVersion the API server gave. */
  service(key: string, resourceVersion: string): boolean {
    return resourceVersion !== '' && this.versions.get(`Service/${key}`) === resourceVersion;
  }

  /** The state's CriticalService, with a uid and generation the API server gave. */
  crit(name: string, uid: string, generation: number): boolean {
    return uid !== '' && this.versions.get(`CriticalService/${name}`) === `${uid}/${generation}`;
  }

  forget(kind: Kind, key: string): void {
    this.versions.delete(`${kind}/${key}`);
  }
}
