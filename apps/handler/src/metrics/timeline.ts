// When each Service's pending work started and went through each stage, for the latency
// histograms: from the watcher's event to the action, and for a failover (a create) the stages
// between, so that the gap to a bare reactor can be explained stage by stage.
import { preciseNow } from '@critsvc/shared';

/** The failover's stages in the handler, each one a duration (the watchers measure event → Redis). */
export const FAILOVER_STAGES = [
  'queue', // the watcher received the event → the handler has it (its fast-path message, or its job taken; through Redis)
  'decision_wait', // → a decision worker took the Service
  'decide', // → the decision was made (in memory)
  'reads', // → the create was sent (template, live check)
  'create', // → the API server answered
] as const;
export type FailoverStage = (typeof FAILOVER_STAGES)[number];

interface Marks {
  seenAt: number;
  takenAt: number;
  startedAt?: number;
  decidedAt?: number;
  sentAt?: number;
}

export interface TimelineSinks {
  /** From the first event to the action it caused, by action. */
  latency: (action: string, seconds: number) => void;
  stage: (stage: FailoverStage, seconds: number) => void;
}

export class Timeline {
  private readonly marks = new Map<string, Marks>();
  private readonly sinks: TimelineSinks;
  private readonly now: () => number;

  constructor(sinks: TimelineSinks, now: () => number = preciseNow) {
    this.sinks = sinks;
    this.now = now;
  }

  /** An event made the Service due; the earliest one not acted on yet counts. seenAt 0: unknown. */
  triggered(key: string, seenAt: number): void {
    if (!this.marks.has(key)) this.marks.set(key, { seenAt, takenAt: this.now() });
  }

  /** When the earliest event not acted on yet was seen (the watcher's time), if any. */
  seenAt(key: string): number | undefined {
    return this.marks.get(key)?.seenAt;
  }

  /** A decision starts (again, after a retry: the stages describe the last attempt). */
  started(key: string): void {
    const m = this.marks.get(key);
    if (m) m.startedAt = this.now();
  }

  decided(key: string): void {
    const m = this.marks.get(key);
    if (m) m.decidedAt = this.now();
  }

  sent(key: string): void {
    const m = this.marks.get(key);
    if (m) m.sentAt = this.now();
  }

  /** Decided with nothing to do: the events are spent. */
  clear(key: string): void {
    this.marks.delete(key);
  }

  /**
   * The action was done. For a create whose every stage is known: each stage's duration in
   * milliseconds (rounded to 0.1), for its log line: one slow failover can be told apart there.
   */
  done(key: string, action: 'create' | 'delete' | 'promote'): Partial<Record<FailoverStage, number>> | undefined {
    const m = this.marks.get(key);
    this.marks.delete(key);
    if (!m || m.seenAt <= 0) return undefined;
    const now = this.now();
    this.sinks.latency(action, (now - m.seenAt) / 1000);
    if (action !== 'create' || m.startedAt === undefined || m.decidedAt === undefined || m.sentAt === undefined)
      return undefined;
    const points = [m.seenAt, m.takenAt, m.startedAt, m.decidedAt, m.sentAt, now];
    const stagesMs: Partial<Record<FailoverStage, number>> = {};
    FAILOVER_STAGES.forEach((stage, i) => {
      const ms = Math.max(0, (points[i + 1] ?? 0) - (points[i] ?? 0));
      this.sinks.stage(stage, ms / 1000);
      stagesMs[stage] = Math.round(ms * 10) / 10;
    });
    return stagesMs;
  }
}
