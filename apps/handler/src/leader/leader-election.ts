// Leader election on a coordination.k8s.io Lease, with client-go's leaderelection semantics:
// a candidate takes the Lease when it is free (no holder: released) or when its record has not
// changed for leaseDurationSeconds as seen by *this* process's clock (clocks of other nodes are
// never compared); the leader renews it every retry period and gives up when no renewal
// succeeded within the renew deadline; updates use the Lease's resourceVersion (optimistic
// concurrency), so two candidates never both win; the leader releases it on shutdown
// (holderIdentity emptied, leaseDurationSeconds 1), so the next one takes it at its next try.
import type { KubeConfig, V1Lease } from '@kubernetes/client-node';
import { getJson, requestJson, type Logger } from '@critsvc/shared';

export interface LeaseRecord {
  holder: string;
  durationSeconds: number;
  acquireTime?: Date | undefined;
  renewTime?: Date | undefined;
  transitions: number;
  resourceVersion?: string | undefined;
}

export interface ElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

export type LeaseVerdict = 'create' | 'renew' | 'take' | 'wait';

/**
 * What a candidate may do with the Lease as it reads it now.
 * @param observedAt when this process last saw the record change (its own clock)
 */
export function leaseVerdict(rec: LeaseRecord | undefined, me: string, observedAt: number, now: number): LeaseVerdict {
  if (!rec) return 'create';
  if (rec.holder === me) return 'renew';
  if (rec.holder === '') return 'take';
  return now >= observedAt + rec.durationSeconds * 1000 ? 'take' : 'wait';
}

/** The record to write for that verdict (create, renew or take over). */
export function nextRecord(
  rec: LeaseRecord | undefined,
  verdict: Exclude<LeaseVerdict, 'wait'>,
  me: string,
  now: Date,
  durationSeconds: number,
): LeaseRecord {
  if (verdict === 'renew' && rec) return { ...rec, durationSeconds, renewTime: now };
  const transitions = rec ? rec.transitions + 1 : 0;
  return {
    holder: me,
    durationSeconds,
    acquireTime: now,
    renewTime: now,
    transitions,
    resourceVersion: rec?.resourceVersion,
  };
}

/** client-go's ReleaseOnCancel: no holder, a 1 s lease; the transitions count is kept. */
export function releasedRecord(rec: LeaseRecord, now: Date): LeaseRecord {
  return { ...rec, holder: '', durationSeconds: 1, acquireTime: now, renewTime: now };
}

/** A record's identity for "has it changed since I last looked" (client-go compares the whole record). */
export function recordKey(rec: LeaseRecord | undefined): string {
  if (!rec) return '';
  return JSON.stringify([
    rec.holder,
    rec.durationSeconds,
    rec.acquireTime?.getTime(),
    rec.renewTime?.getTime(),
    rec.transitions,
  ]);
}

/** The Lease's reads and writes; update fails (409) when the resourceVersion is stale. */
export interface LeaseApi {
  read(): Promise<LeaseRecord | undefined>;
  create(rec: LeaseRecord): Promise<LeaseRecord>;
  update(rec: LeaseRecord): Promise<LeaseRecord>;
}

/** A Lease as the API server sends it: plain JSON, times as strings. */
type LeaseJson = Omit<V1Lease, 'spec'> & {
  spec?: Omit<NonNullable<V1Lease['spec']>, 'acquireTime' | 'renewTime'> & { acquireTime?: string; renewTime?: string };
};

function toRecord(l: LeaseJson): LeaseRecord {
  const s = l.spec ?? {};
  return {
    holder: s.holderIdentity ?? '',
    durationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: s.acquireTime ? new Date(s.acquireTime) : undefined,
    renewTime: s.renewTime ? new Date(s.renewTime) : undefined,
    transitions: s.leaseTransitions ?? 0,
    resourceVersion: l.metadata?.resourceVersion,
  };
}

/** RFC 3339 with microseconds, as a MicroTime must be (2026-12-02T13:00:00.123000Z). */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

function toLease(name: string, namespace: string, rec: LeaseRecord): LeaseJson {
  const micro = (d: Date | undefined): string | undefined => (d ? microTime(d) : undefined);
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(rec.resourceVersion ? { resourceVersion: rec.resourceVersion } : {}) },
    spec: {
      holderIdentity: rec.holder,
      leaseDurationSeconds: rec.durationSeconds,
      acquireTime: micro(rec.acquireTime),
      renewTime: micro(rec.renewTime),
      leaseTransitions: rec.transitions,
    },
  };
}

export function kubeLeaseApi(kc: KubeConfig, namespace: string, name: string): LeaseApi {
  // Plain JSON on the shared pool: client-node's typed CoordinationV1Api loads its whole generated API.
  const leases = `/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`;
  return {
    async read() {
      const lease = (await getJson(kc, `${leases}/${name}`)) as LeaseJson | undefined;
      return lease ? toRecord(lease) : undefined;
    },
    async create(rec) {
      return toRecord(
        (await requestJson(kc, 'POST', leases, { body: toLease(name, namespace, rec) })).body as LeaseJson,
      );
    },
    async update(rec) {
      return toRecord(
        (await requestJson(kc, 'PUT', `${leases}/${name}`, { body: toLease(name, namespace, rec) })).body as LeaseJson,
      );
    },
  };
}

export interface ElectorOptions {
  api: LeaseApi;
  identity: string;
  timings: ElectionTimings;
  log: Logger;
  /** Called once when leadership is lost (no renewal within the renew deadline). */
  onLost: () => void;
  /** Called when this process becomes the leader, with the Lease's transitions count. */
  onLeading?: (transitions: number) => void;
  now?: () => number;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class LeaderElector {
  readonly identity: string;
  private readonly o: ElectorOptions;
  private readonly now: () => number;
  private current: LeaseRecord | undefined;
  private observed = { key: '', at: 0 };
  /** When the last successful create/renew/take began (this process's clock). */
  private renewedAt = 0;
  private leading = false;
  private readonly renewing = new AbortController();
  private renewLoop: Promise<void> | undefined;

  constructor(o: ElectorOptions) {
    this.o = o;
    this.identity = o.identity;
    this.now = o.now ?? Date.now;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Leader and renewed recently enough to act: false as soon as the renew deadline has passed. */
  mayAct(): boolean {
    return this.leading && this.now() - this.renewedAt < this.o.timings.renewDeadlineMs;
  }

  /** One attempt, as client-go's tryAcquireOrRenew. */
  async tryAcquireOrRenew(): Promise<boolean> {
    const started = this.now();
    let rec: LeaseRecord | undefined;
    try {
      rec = await this.o.api.read();
    } catch (err) {
      this.o.log.debug({ err }, 'cannot read the leader Lease');
      return false;
    }
    const key = recordKey(rec);
    if (key !== this.observed.key) this.observed = { key, at: started };
    const verdict = leaseVerdict(rec, this.identity, this.observed.at, started);
    if (verdict === 'wait') return false;
    const next = nextRecord(
      rec,
      verdict,
      this.identity,
      new Date(started),
      Math.round(this.o.timings.leaseDurationMs / 1000),
    );
    try {
      this.current = verdict === 'create' ? await this.o.api.create(next) : await this.o.api.update(next);
    } catch (err) {
      // 409: another candidate wrote first; it wins this round.
      this.o.log.debug({ err, verdict }, 'leader Lease not written');
      return false;
    }
    this.observed = { key: recordKey(this.current), at: started };
    this.renewedAt = started;
    return true;
  }

  /** Waits until this process leads (then renews in the background); false if aborted first. */
  async acquire(signal: AbortSignal): Promise<boolean> {
    const { retryPeriodMs } = this.o.timings;
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        if (signal.aborted) {
          // Won just as the process was told to stop: hand the Lease straight back.
          await this.release();
          return false;
        }
        this.renewLoop = this.renew();
        this.o.onLeading?.(this.current?.transitions ?? 0);
        return true;
      }
      // client-go jitters its retries (up to +120%); a little is enough to keep candidates apart.
      await sleep(retryPeriodMs * (1 + Math.random() * 0.1), signal);
    }
    return false;
  }

  private async renew(): Promise<void> {
    const { retryPeriodMs, renewDeadlineMs } = this.o.timings;
    const signal = this.renewing.signal;
    while (!signal.aborted) {
      await sleep(retryPeriodMs, signal);
      if (signal.aborted) return;
      const left = renewDeadlineMs - (this.now() - this.renewedAt);
      const ok = left > 0 && (await Promise.race([this.tryAcquireOrRenew(), sleep(left).then(() => false)]));
      if (ok || signal.aborted) continue;
      if (this.now() - this.renewedAt >= renewDeadlineMs) {
        this.leading = false;
        this.renewing.abort();
        this.o.onLost();
        return;
      }
    }
  }

  /** Stops renewing and, if this process still holds the Lease, frees it for the next candidate. */
  async release(): Promise<void> {
    this.renewing.abort();
    await this.renewLoop;
    if (!this.leading || !this.current) return;
    this.leading = false;
    try {
      await this.o.api.update(releasedRecord(this.current, new Date(this.now())));
      this.o.log.info({ identity: this.identity }, 'leader Lease released');
    } catch (err) {
      this.o.log.warn({ err }, 'could not release the leader Lease; the next leader waits for it to expire');
    }
  }
}
