// What a CriticalService's status says: computed from the state, written only when it changes.
import { LIMIT_REASON, type Blocked } from './reasons.ts';
import { critCovers, hasRealPod, isConsidered, isWatchedNamespace } from './rules.ts';
import type { CritInfo, PodInfo, ServiceInfo } from './types.ts';

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

/** Lists in the status stop here (an object must stay far below etcd's 1.5 MB); the counts keep the totals. */
export const STATUS_LIST_CAP = 50;

export interface CritStatus {
  observedGeneration: number;
  coveredServices: number;
  lameCount: number;
  defaultPodCount: number;
  lameServices: string[];
  defaultPods: string[];
  /** Hot standby: warm pods waiting outside their Service's selector. */
  standbyPodCount: number;
  standbyPods: string[];
  blockedCount: number;
  blockedServices: ({ service: string } & Blocked)[];
  unwatchedNamespace?: string;
  conditions: Condition[];
}

export interface StatusInput {
  crit: CritInfo;
  services: Iterable<ServiceInfo>;
  podsIn: (ns: string) => Iterable<PodInfo>;
  watched: readonly string[];
  readyOnly: boolean;
  /** undefined: the template is fine (or untested yet). */
  templateProblem?: string;
  /** Watched namespaces the handler could not list (forbidden, say) → the API server's message; '' for all namespaces. */
  unlisted?: ReadonlyMap<string, string>;
  /** Why a lame Service got no default pod, as the controller last found. */
  blocked?: (serviceKey: string) => Blocked | undefined;
  /**
   * What the controller's last decision found for a Service (lame, its default pods): no pod is
   * read again per status write. undefined for a Service not decided yet: its pods are read.
   */
  decided?: (serviceKey: string) => ServiceVerdict | undefined;
}

export interface ServiceVerdict {
  lame: boolean;
  /** Keys of the Service's default pods (not terminating). */
  defaults: readonly string[];
  /** Keys of its warm pods (hot standby), not terminating. */
  standbys: readonly string[];
}

/** The same verdict, read from the pods: for a Service no decision has looked at yet. */
function verdictFromPods(svc: ServiceInfo, input: StatusInput): ServiceVerdict {
  const pods = [...input.podsIn(svc.namespace)];
  const ours = pods.filter((p) => p.owned && p.forService === svc.name && !p.terminating);
  return {
    lame: !hasRealPod(svc, pods, input.readyOnly),
    defaults: ours.filter((p) => !p.standby).map((p) => p.key),
    standbys: ours.filter((p) => p.standby).map((p) => p.key),
  };
}

function cond(type: string, ok: boolean, reason: string, message: string, generation: number): Condition {
  return { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: generation };
}

export function computeStatus(input: StatusInput): CritStatus {
  const { crit } = input;
  const gen = crit.generation;
  const tally = tallyServices(input);
  const unwatched =
    crit.namespace !== undefined && !isWatchedNamespace(crit.namespace, input.watched) ? crit.namespace : undefined;
  return {
    observedGeneration: gen,
    coveredServices: tally.covered,
    lameCount: tally.lame.length,
    defaultPodCount: tally.defaults.length,
    lameServices: tally.lame.slice(0, STATUS_LIST_CAP),
    defaultPods: tally.defaults.slice(0, STATUS_LIST_CAP),
    standbyPodCount: tally.standbys.length,
    standbyPods: tally.standbys.slice(0, STATUS_LIST_CAP),
    blockedCount: tally.blocked.length,
    blockedServices: tally.blocked.slice(0, STATUS_LIST_CAP),
    ...(unwatched ? { unwatchedNamespace: unwatched } : {}),
    conditions: conditionsFor(crit, tally, namespaceProblem(crit, unwatched, input.unlisted), input.templateProblem),
  };
}

interface Tally {
  covered: number;
  /** Lame Services without a default pod: the CriticalService is not doing its job for them. */
  unbacked: number;
  lame: string[];
  defaults: string[];
  standbys: string[];
  blocked: ({ service: string } & Blocked)[];
}

function tallyServices(input: StatusInput): Tally {
  const { crit } = input;
  const lame: string[] = [];
  const defaults: string[] = [];
  const standbys: string[] = [];
  const blocked: ({ service: string } & Blocked)[] = [];
  let covered = 0;
  let unbacked = 0;
  for (const svc of input.services) {
    if (!isConsidered(svc, input.watched) || !critCovers(crit, svc)) continue;
    covered++;
    const verdict = input.decided?.(svc.key) ?? verdictFromPods(svc, input);
    defaults.push(...verdict.defaults);
    standbys.push(...verdict.standbys);
    if (verdict.lame) {
      lame.push(svc.key);
      if (verdict.defaults.length > 0) continue;
      unbacked++;
      const why = input.blocked?.(svc.key);
      if (why) blocked.push({ service: svc.key, ...why });
    }
  }
  // Sorted: the writer skips a status whose JSON equals the last one written, so iteration order must not show.
  lame.sort();
  defaults.sort();
  standbys.sort();
  blocked.sort((a, b) => a.service.localeCompare(b.service));
  return { covered, unbacked, lame, defaults, standbys, blocked };
}

interface NamespaceProblem {
  reason: 'NamespaceNotWatched' | 'NamespaceNotListed';
  message: string;
}

/** The namespaces this CriticalService covers that critsvc does not see: its Services there are not protected. */
function namespaceProblem(
  crit: CritInfo,
  unwatched: string | undefined,
  unlisted: ReadonlyMap<string, string> | undefined,
): NamespaceProblem | undefined {
  if (unwatched)
    return {
      reason: 'NamespaceNotWatched',
      message: `namespace ${unwatched} is not in NAMESPACES; its Services are not protected`,
    };
  const failed = [...(unlisted ?? [])].filter(
    ([ns]) => crit.namespace === undefined || ns === crit.namespace || ns === '',
  );
  if (failed.length === 0) return undefined;
  const what = failed.map(([ns, msg]) => `${ns ? `namespace ${ns}` : 'all namespaces'}: ${msg}`).join('; ');
  return {
    reason: 'NamespaceNotListed',
    message: `critsvc cannot list ${what}; Services there are not protected (retried every 30 s)`,
  };
}

function conditionsFor(
  crit: CritInfo,
  tally: Tally,
  nsProblem: NamespaceProblem | undefined,
  templateProblem: string | undefined,
): Condition[] {
  const gen = crit.generation;
  const conditions: Condition[] = [];
  if (crit.problems.length) conditions.push(cond('Valid', false, 'InvalidSpec', crit.problems.join('; '), gen));
  else conditions.push(cond('Valid', true, 'SpecValid', 'spec is valid', gen));
  if (nsProblem) conditions.push(cond('NamespaceWatched', false, nsProblem.reason, nsProblem.message, gen));
  if (templateProblem) conditions.push(cond('TemplateAvailable', false, 'PodTemplateUnusable', templateProblem, gen));
  const limited = tally.blocked.filter((b) => b.reason === LIMIT_REASON);
  if (limited[0]) {
    conditions.push(
      cond(
        'WithinDefaultPodLimits',
        false,
        LIMIT_REASON,
        `${limited.length} lame Service(s) get no default pod because of the blast-radius limits, e.g. ${limited[0].service}: ${limited[0].message}`,
        gen,
      ),
    );
  }
  const ready = crit.problems.length === 0 && tally.unbacked === 0 && !nsProblem;
  conditions.push(cond('Ready', ready, readyReason(ready, crit, nsProblem, tally), readyMessage(tally), gen));
  return conditions;
}

function readyMessage(tally: Tally): string {
  if (tally.unbacked === 0)
    return `${tally.covered} Service(s) covered, ${tally.lame.length} lame and served by a default pod`;
  const first = tally.blocked[0];
  const blocked = first
    ? `; ${tally.blocked.length} blocked, e.g. ${first.service}: ${first.reason}: ${first.message}`
    : '';
  return `${tally.unbacked} lame Service(s) without a default pod yet${blocked}`;
}

function readyReason(ready: boolean, crit: CritInfo, nsProblem: NamespaceProblem | undefined, tally: Tally): string {
  if (ready) return 'AllServicesBacked';
  if (crit.problems.length) return 'InvalidSpec';
  if (nsProblem) return nsProblem.reason;
  return tally.blocked.length ? 'DefaultPodsBlocked' : 'ServicesWithoutPod';
}

/** Keeps lastTransitionTime where a condition's status did not change. */
export function withTransitionTimes(
  next: Condition[],
  prev: readonly Condition[] | undefined,
  now: string,
): Condition[] {
  return next.map((c) => {
    const old = prev?.find((p) => p.type === c.type);
    return {
      ...c,
      lastTransitionTime: old && old.status === c.status && old.lastTransitionTime ? old.lastTransitionTime : now,
    };
  });
}
