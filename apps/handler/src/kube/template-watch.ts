// The PodTemplates default pods are made from, kept current by a watch each (list+watch of one
// object by fieldSelector, so RBAC can name it): the global one, and each one a CriticalService
// names in spec.defaultPod.templateRef. The failover path reads memory only, and a template
// deleted or changed is known as soon as the API server says so.
import { apiMessage, httpStatus, logError, type ListedJob, type Logger } from '@critsvc/shared';
import { credentialsProblem, type UsableTemplate } from '../model/default-pod.ts';
import { checkTemplate } from '../model/template-check.ts';
import type { CritInfo, ServiceInfo, TemplateRef } from '../model/types.ts';

export type TemplateLookup =
  | { ok: true; template: UsableTemplate }
  /** pending: not listed yet (nothing to report: the first list will decide again). */
  | { ok: false; error: string; pending?: boolean };

export interface TemplateWatch {
  start(): void;
  stop(): Promise<void>;
}

/** How one template is watched: KubeActions.watchTemplate, or a test's stand-in. */
export type WatchTemplate = (
  ref: TemplateRef,
  on: { push: (job: ListedJob<'PodTemplate'>) => void; listFailed: (err: unknown) => void; log: Logger },
) => TemplateWatch;

export interface TemplatesOptions {
  global: TemplateRef;
  watch: WatchTemplate;
  log: Logger;
  /** What a template gives changed (usable or not, or why not): status and waiting Services follow. */
  changed: (ref: TemplateRef, usable: boolean) => void;
}

interface Entry {
  watch: TemplateWatch;
  /** undefined until the first list answered. */
  known?: { resourceVersion: string; lookup: TemplateLookup };
  /** Why the watch cannot list it (forbidden): stands until a list succeeds. */
  listError?: string;
  /** A pod built from it was refused (422): stands until the template changes or a create succeeds. */
  refused?: string;
}

export const refKey = (ref: TemplateRef): string => `${ref.namespace}/${ref.name}`;

export class Templates {
  private readonly entries = new Map<string, Entry>();
  private readonly o: TemplatesOptions;
  /** Called at each answer of a watch (see firstAnswers). */
  private readonly waiters = new Set<() => void>();

  constructor(o: TemplatesOptions) {
    this.o = o;
  }

  /** The template a CriticalService's default pods are made from. */
  refOf(crit: Pick<CritInfo, 'templateRef'> | undefined): TemplateRef {
    return crit?.templateRef ?? this.o.global;
  }

  /** Watches the global template and those the CriticalServices name; stops watching the others. */
  follow(crits: Iterable<CritInfo>): void {
    const wanted = new Map<string, TemplateRef>([[refKey(this.o.global), this.o.global]]);
    for (const c of crits)
      if (c.templateRef && c.problems.length === 0) wanted.set(refKey(c.templateRef), c.templateRef);
    for (const [key, ref] of wanted) if (!this.entries.has(key)) this.startWatch(key, ref);
    for (const [key, entry] of this.entries) {
      if (wanted.has(key)) continue;
      this.entries.delete(key);
      void entry.watch.stop();
      this.o.log.info({ template: key }, 'PodTemplate no longer named by any CriticalService; not watched');
    }
    this.answered();
  }

  /**
   * Until every template followed has had its first answer (listed, found or not, or refused for
   * good), at most timeoutMs: the keys still without one. A decision taken before would find the
   * template pending, and wait for its first list to be decided again.
   */
  async firstAnswers(timeoutMs: number): Promise<string[]> {
    const pending = (): string[] => [...this.entries].filter(([, e]) => !e.known && !e.listError).map(([key]) => key);
    if (pending().length === 0) return [];
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = (): void => {
        if (pending().length === 0) done();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(check);
    });
    return pending();
  }

  private answered(): void {
    for (const check of [...this.waiters]) check();
  }

  /** Memory only: what the watch last said of the template. */
  get(ref: TemplateRef): TemplateLookup {
    const key = refKey(ref);
    const entry = this.entries.get(key);
    if (entry?.listError) return { ok: false, error: entry.listError };
    if (!entry?.known) return { ok: false, error: `PodTemplate ${key} not listed yet`, pending: true };
    return entry.known.lookup;
  }

  /** Why no default pod can be made from it now, for CriticalService status; undefined while fine or not known yet. */
  problem(ref: TemplateRef): string | undefined {
    const entry = this.entries.get(refKey(ref));
    const lookup = this.get(ref);
    if (!lookup.ok && !lookup.pending) return lookup.error;
    return entry?.refused;
  }
  /**
   * Why the CriticalService's template cannot give its default pods now, for its status: the
   * template's own problem, else (a template opted in to credentials) a Service it covers outside
   * the template's namespace, whose default pod would be refused.
   */
  problemFor(crit: CritInfo, services: Iterable<ServiceInfo>, watched: readonly string[]): string | undefined {
    const ref = this.refOf(crit);
    const problem = this.problem(ref);
    if (problem) return problem;
    const lookup = this.get(ref);
    return lookup.ok ? credentialsProblem(lookup.template, ref, crit, services, watched) : undefined;
  }

  /** The first problem of a template in use (the global one, or one a CriticalService names); undefined while all can be used. */
  anyProblem(crits: Iterable<CritInfo>): string | undefined {
    for (const ref of [this.refOf(undefined), ...[...crits].map((c) => this.refOf(c))]) {
      const problem = this.problem(ref);
      if (problem) return problem;
    }
    return undefined;
  }

  /** The API server refused a pod built from it (422): the template is to blame until it changes. */
  invalidate(ref: TemplateRef, why: string): void {
    const entry = this.entries.get(refKey(ref));
    if (!entry) return;
    entry.refused = `PodTemplate ${refKey(ref)}: ${why}`;
    this.o.changed(ref, false);
  }

  /** A pod built from it was created: a past refusal no longer stands. */
  worked(ref: TemplateRef): void {
    const entry = this.entries.get(refKey(ref));
    if (!entry?.refused) return;
    entry.refused = undefined;
    this.o.changed(ref, true);
  }

  async stop(): Promise<void> {
    const all = [...this.entries.values()];
    this.entries.clear();
    await Promise.all(all.map((e) => e.watch.stop()));
  }

  private startWatch(key: string, ref: TemplateRef): void {
    const entry: Entry = {
      watch: this.o.watch(ref, {
        push: (job) => this.apply(key, ref, entry, job),
        listFailed: (err) => this.listFailed(key, ref, entry, err),
        log: this.o.log.child({ template: key }),
      }),
    };
    this.entries.set(key, entry);
    entry.watch.start();
    this.o.log.info({ template: key }, 'watching PodTemplate');
  }

  private apply(key: string, ref: TemplateRef, entry: Entry, job: ListedJob<'PodTemplate'>): void {
    if (this.entries.get(key) !== entry) return;
    const before = { rv: entry.known?.resourceVersion, problem: this.problem(ref), known: entry.known !== undefined };
    entry.listError = undefined;
    entry.known = known(key, job) ?? entry.known;
    if (entry.known?.resourceVersion !== before.rv) entry.refused = undefined;
    const problem = this.problem(ref);
    if (!before.known || problem !== before.problem || entry.known?.resourceVersion !== before.rv) {
      this.o.log.info(
        { template: key, usable: problem === undefined, ...(problem ? { problem } : {}) },
        'PodTemplate changed',
      );
      this.o.changed(ref, problem === undefined);
    }
    this.answered();
  }

  private listFailed(key: string, ref: TemplateRef, entry: Entry, err: unknown): void {
    if (this.entries.get(key) !== entry) return;
    const code = httpStatus(err);
    if (code !== 401 && code !== 403) return; // transient: the watch retries, the last known state stands
    const why = `PodTemplate ${key} cannot be read: forbidden (check the handler's RBAC: list and watch on this PodTemplate): ${apiMessage(err)}`;
    if (entry.listError === why) return;
    entry.listError = why;
    this.o.log.warn({ template: key, err: logError(err) }, 'PodTemplate cannot be listed');
    this.o.changed(ref, false);
    this.answered();
  }
}

/** What a job of the template's watch says of it; undefined: nothing new (a list's marker after its ADDED). */
function known(key: string, job: ListedJob<'PodTemplate'>): Entry['known'] {
  const notFound = { resourceVersion: '', lookup: { ok: false, error: `PodTemplate ${key} not found` } } as const;
  if (job.type === 'SYNCED') return (job.keys ? job.keys.includes(key) : job.count !== 0) ? undefined : notFound;
  if (job.type === 'DELETED') return notFound;
  const checked = checkTemplate(job.object);
  const rv = job.object.metadata?.resourceVersion ?? '';
  return {
    resourceVersion: rv,
    lookup: checked.ok ? checked : { ok: false, error: `PodTemplate ${key} is invalid: ${checked.error}` },
  };
}
