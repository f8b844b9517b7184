// The reads behind every delete that takes a Service's protection away (model/removal-check.ts
// judges them): the Service, the CriticalServices, and at hand-back its pods and EndpointSlices,
// all from the API server. When it disagrees with the state, the state takes what was read, the
// default pod stays, and the Service is decided again on the repaired state.
import type { HandlerConfig, KubeObject, Logger } from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import type { DeleteReason } from '../model/reasons.ts';
import { selectorString } from '../model/live-check.ts';
import { confirmRemoval, PROTECTION_REASONS, protectedService, type RemovalVerdict } from '../model/removal-check.ts';
import { isOlderOrSame } from '../model/resource-version.ts';
import { selectorMatches } from '../model/rules.ts';
import type { ApplyResult, Store } from '../model/store.ts';
import type { PodInfo } from '../model/types.ts';

export interface RemovalGuardParts {
  cfg: Pick<HandlerConfig, 'NAMESPACES' | 'READY_PODS_ONLY'>;
  kube: KubeActions;
  store: Store;
  log: Logger;
  metrics: HandlerMetrics;
  applyLive: (results: ApplyResult[]) => void;
}

export class RemovalGuard {
  private readonly o: RemovalGuardParts;
  /** Services whose removal the API server refused since the last one it confirmed: logged once. */
  private readonly refused = new Set<string>();

  constructor(o: RemovalGuardParts) {
    this.o = o;
  }

  /** Whether this delete needs the API server's word first: a default pod (not a warm one) going for a reason that unprotects. */
  static needed(reason: DeleteReason, pod: PodInfo): boolean {
    return PROTECTION_REASONS.has(reason) && !pod.standby;
  }

  async check(key: string, reason: DeleteReason, pod: PodInfo): Promise<RemovalVerdict> {
    const ns = key.slice(0, key.indexOf('/'));
    const name = key.slice(key.indexOf('/') + 1);
    const [service, crits, livePod] = await Promise.all([
      this.o.kube.readService(ns, name),
      this.o.kube.listCriticalServices(),
      reason === 'selector-changed' ? this.o.kube.readPod(pod.namespace, pod.name) : Promise.resolve(undefined),
    ]);
    const view = { service, crits: crits.items, pods: [] as KubeObject[], slices: [] as KubeObject[], pod: livePod };
    const svc = protectedService(view, this.o.cfg.NAMESPACES);
    let podsAt = '';
    if (svc && reason === 'service-healthy') {
      const [pods, slices] = await Promise.all([
        this.o.kube.listPods(ns, selectorString(svc.selector)),
        this.o.kube.listEndpointSlices(ns, name),
      ]);
      view.pods = pods.items;
      view.slices = slices;
      podsAt = pods.resourceVersion;
    }
    const verdict = confirmRemoval(reason, view, this.o.cfg.NAMESPACES, this.o.cfg.READY_PODS_ONLY);
    if (verdict.ok) {
      this.refused.delete(key);
      return verdict;
    }
    if (verdict.wait) return verdict;
    this.o.metrics.removalDisagreements.inc({ reason });
    if (!this.refused.has(key)) {
      this.refused.add(key);
      this.o.log
        .child({ svc: key })
        .warn(
          { pod: pod.name, reason, why: verdict.why },
          'the API server disagrees with the state: the default pod stays, state repaired',
        );
    }
    await this.repair(key, view, crits.resourceVersion, podsAt, svc?.selector);
    return verdict;
  }

  forget(key: string): void {
    this.refused.delete(key);
  }

  /**
   * The state takes what was read: the Service, every CriticalService, and the Service's pods. An
   * object the state holds that the live list lacks is gone if older than the list; one claiming a
   * later version is read again on its own (a lie from the queue, or created since the list).
   */
  private async repair(
    key: string,
    view: { service: KubeObject | undefined; crits: KubeObject[]; pods: KubeObject[] },
    critsAt: string,
    podsAt: string,
    selector: Readonly<Record<string, string>> | undefined,
  ): Promise<void> {
    const { store, kube } = this.o;
    const results: ApplyResult[] = [store.takeLive('Service', key, view.service)];
    const liveCrits = new Set(view.crits.map((c) => c.metadata?.name ?? ''));
    for (const c of view.crits) results.push(store.repair('CriticalService', c));
    for (const crit of [...store.crits.values()].filter((c) => !liveCrits.has(c.name)).slice(0, MAX_READS)) {
      results.push(
        isOlderOrSame(crit.resourceVersion, critsAt)
          ? store.forget('CriticalService', crit.name)
          : store.takeLive('CriticalService', crit.name, await kube.readCriticalService(crit.name)),
      );
    }
    if (selector && podsAt) {
      const ns = key.slice(0, key.indexOf('/'));
      const livePods = new Set(view.pods.map((p) => p.metadata?.name ?? ''));
      for (const p of view.pods) results.push(store.repair('Pod', p));
      const ghosts = [...store.podLookup(ns).candidates(selector)]
        .filter((p) => selectorMatches(selector, p.labels) && !livePods.has(p.name))
        .slice(0, MAX_READS);
      for (const p of ghosts)
        results.push(
          isOlderOrSame(p.resourceVersion, podsAt)
            ? store.forget('Pod', p.key)
            : store.takeLive('Pod', p.key, await kube.readPod(p.namespace, p.name)),
        );
    }
    this.o.applyLive(results);
  }
}

/** Objects read again one by one in one repair, at most (a flood of ghosts is repaired over several). */
const MAX_READS = 50;
