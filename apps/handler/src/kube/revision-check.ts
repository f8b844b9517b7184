// A resourceVersion from the queue beyond any the API server has shown the handler is not
// believed: shortly after the state takes one (off the failover's path), the handler asks the API
// server for its newest revision; whatever the queue claimed beyond it cannot exist. Such an
// object is read again and the state takes the live one (a ghost goes, a true object comes back);
// the deletions and list ends claimed beyond it are dropped, so that the true events that follow
// do not look stale. A watcher's list end that did not name an object held here is a claim too:
// the object is read before the state lets it go.
import { logError, type HandlerConfig, type Kind, type KubeObject, type Logger } from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';
import { Store, type ApplyResult } from '../model/store.ts';
import type { Ahead } from '../model/store-versions.ts';

/** How long after the first unconfirmed version the check runs (its list must not compete with a failover's create). */
export const REVISION_CHECK_DELAY_MS = 250;
/** Objects read again after one check, at most (a flood is repaired over several checks, and the relist). */
const MAX_READS = 500;

export interface RevisionCheckParts {
  cfg: Pick<HandlerConfig, 'NAMESPACES'>;
  kube: KubeActions;
  store: Store;
  log: Logger;
  metrics: HandlerMetrics;
  applyLive: (results: ApplyResult[]) => void;
  /** Too much to read one by one: list everything again instead. */
  relist: (reason: string) => Promise<void>;
  delayMs?: number;
}

export class RevisionCheck {
  private readonly o: RevisionCheckParts;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;
  /** Entries taken for a check that failed: tried again with the next. */
  private carried: Ahead[] = [];

  constructor(o: RevisionCheckParts) {
    this.o = o;
  }

  /** The state may hold versions the API server has not shown: check soon (one check at a time). */
  poke(): void {
    if (this.stopped || this.timer || this.running || (this.o.store.aheadCount === 0 && this.carried.length === 0))
      return;
    this.timer = setTimeout(() => void this.run(), this.o.delayMs ?? REVISION_CHECK_DELAY_MS);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** One check: the API server's newest revision, read after the entries were taken. */
  async run(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    const entries = [...this.carried, ...this.o.store.takeAhead()];
    this.carried = [];
    try {
      const ns = this.o.cfg.NAMESPACES[0];
      const rv = await this.o.kube.currentRevision(ns ? `/api/v1/namespaces/${ns}/pods` : '/api/v1/pods');
      const lies = this.o.store.refute(entries, rv);
      if (lies.length) this.report(lies, rv);
      const gone = Store.claimedGone(entries);
      await this.readAgain([...lies, ...gone]);
    } catch (err) {
      this.carried = entries;
      this.o.log.warn(
        { err: logError(err), entries: entries.length },
        "could not read the API server's revision to check the queue's versions; retrying",
      );
    } finally {
      this.running = false;
      this.poke();
    }
  }

  private report(lies: Ahead[], rv: string): void {
    for (const a of lies) this.o.metrics.forgedVersions.inc({ kind: a.kind });
    this.o.log.warn(
      { count: lies.length, revision: rv, examples: lies.slice(0, 5).map((a) => `${a.kind} ${a.key} at ${a.rv}`) },
      "the queue claimed resourceVersions beyond the API server's newest: not believed; those objects are read again",
    );
  }

  /** Each object, as the API server has it now, replaces what the queue said (gone ones go); beyond MAX_READS, a relist. */
  private async readAgain(entries: Ahead[]): Promise<void> {
    if (entries.length > MAX_READS) void this.o.relist('unconfirmed-list');
    const results: ApplyResult[] = [];
    for (const a of entries.slice(0, MAX_READS))
      results.push(this.o.store.takeLive(a.kind, a.key, await this.read(a.kind, a.key)));
    this.o.applyLive(results);
  }

  private read(kind: Kind, key: string): Promise<KubeObject | undefined> {
    const [ns = '', name = ''] = kind === 'CriticalService' ? ['', key] : key.split('/');
    if (kind === 'Pod') return this.o.kube.readPod(ns, name);
    if (kind === 'Service') return this.o.kube.readService(ns, name);
    return this.o.kube.readCriticalService(name);
  }
}
