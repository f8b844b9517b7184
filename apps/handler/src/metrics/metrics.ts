// Prometheus metrics of the handler.
import { STAGE_BUCKETS } from '@critsvc/shared';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export function handlerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    events: new Counter({
      name: 'critsvc_events_processed_total',
      help: 'Queue events processed, by kind, type and outcome (changed, stale, unchanged, invalid); a job whose fast-path message was applied first finds nothing new (stale or unchanged)',
      labelNames: ['kind', 'type', 'outcome'],
      registers: [registry],
    }),
    actions: new Counter({
      name: 'critsvc_default_pod_actions_total',
      help: 'Default pod creations and deletions, by result',
      labelNames: ['action', 'result'],
      registers: [registry],
    }),
    decisions: new Counter({
      name: 'critsvc_decisions_total',
      help: 'Service decisions taken, by whether a default pod is wanted (true/false)',
      labelNames: ['wanted'],
      registers: [registry],
    }),
    apiErrors: new Counter({
      name: 'critsvc_api_errors_total',
      help: 'Failed API server calls, by operation',
      labelNames: ['op'],
      registers: [registry],
    }),
    latency: new Histogram({
      name: 'critsvc_event_to_action_seconds',
      help: 'From the watcher receiving an event to the default pod action it caused',
      labelNames: ['action'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    stages: new Histogram({
      name: 'critsvc_failover_stage_seconds',
      help: 'A failover (default pod create) in the handler, stage by stage: queue (watcher event → the handler has it: its fast-path message, or its job taken, through Redis), decision_wait, decide, reads (template, live check), create (the API call)',
      labelNames: ['stage'],
      buckets: STAGE_BUCKETS,
      registers: [registry],
    }),
    syncSeconds: new Gauge({
      name: 'critsvc_start_sync_seconds',
      help: 'Time the start-up list took',
      registers: [registry],
    }),
    liveDisagreements: new Counter({
      name: 'critsvc_live_check_disagreements_total',
      help: 'Creates not made because the API server did not confirm the state (forged or stale queue data); the state is repaired each time',
      registers: [registry],
    }),
    removalDisagreements: new Counter({
      name: 'critsvc_removal_disagreements_total',
      help: "Default pod deletes not made because the API server did not confirm that the Service no longer needs it (forged or stale queue data: a ghost Ready pod, a Service or CriticalService said to be gone), by the delete's reason; the state is repaired each time and the pod stays",
      labelNames: ['reason'],
      registers: [registry],
    }),
    forgedVersions: new Counter({
      name: 'critsvc_queue_versions_refuted_total',
      help: "Objects, deletions and list ends the queue claimed at a resourceVersion beyond the API server's newest (forged): not believed, the objects read again, by kind",
      labelNames: ['kind'],
      registers: [registry],
    }),
    relists: new Counter({
      name: 'critsvc_relists_total',
      help: 'Complete lists taken after start-up to repair the state, by reason (periodic, redis-restarted, redis-data-lost, redis-failover, redis-full, incomplete-list)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    workerRestarts: new Counter({
      name: 'critsvc_queue_worker_restarts_total',
      help: 'Queue workers replaced: jobs waited with a slot free and none was taken for 5 s (a worker whose connection never came back), or a Redis failover was noticed (new connections for the worker, rather than find out later which ones ended)',
      registers: [registry],
    }),
    fastPath: new Counter({
      name: 'critsvc_fast_path_messages_total',
      help: 'Watch events the watchers also published on the fast-path channel, by what the handler did with them: applied (before their job: the state changed), known (nothing new), skipped (the worker had jobs to take; the job brings it in order), invalid',
      labelNames: ['result'],
      registers: [registry],
    }),
    relistDrift: new Counter({
      name: 'critsvc_relist_drift_total',
      help: 'Objects a relist found the state wrong about (missing, outdated or gone), by kind: queue data that was lost',
      labelNames: ['kind'],
      registers: [registry],
    }),
    eventsSuppressed: new Counter({
      name: 'critsvc_events_suppressed_total',
      help: 'Warning Events not recorded because that reason passed its rate limit (25, then 1 a minute, across Services), by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    leader: new Gauge({
      name: 'critsvc_leader',
      help: 'With LEADER_ELECTION: 1 while this handler holds the leader Lease and acts, 0 while it is a standby',
      registers: [registry],
    }),
    statusWrites: new Counter({
      name: 'critsvc_status_writes_total',
      help: 'CriticalService status patches',
      registers: [registry],
    }),
    // Per CriticalService (label criticalservice): one series per CriticalService, a handful made
    // by admins, never per Service or pod, so the cardinality stays bounded. Set with its status.
    lameServices: new Gauge({
      name: 'critsvc_lame_services',
      help: 'Lame Services a CriticalService covers (no real pod), served by a default pod or not',
      labelNames: ['criticalservice'],
      registers: [registry],
    }),
    defaultPods: new Gauge({
      name: 'critsvc_default_pods',
      help: 'Default pods (not terminating) serving the Services a CriticalService covers',
      labelNames: ['criticalservice'],
      registers: [registry],
    }),
    blockedServices: new Gauge({
      name: 'critsvc_blocked_services',
      help: 'Lame Services a CriticalService covers that critsvc cannot give a default pod (status blockedServices: selector conflict, name taken, admission refused, blast-radius limit)',
      labelNames: ['criticalservice'],
      registers: [registry],
    }),
    timeToFallback: new Histogram({
      name: 'critsvc_time_to_fallback_seconds',
      help: 'From the watcher seeing the event that made a critical Service lame to its default pod created (the API server accepted it)',
      buckets: [0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers: [registry],
    }),
    outageWindow: new Histogram({
      name: 'critsvc_outage_window_seconds',
      help: 'From the watcher seeing the event that made a critical Service lame to the watcher seeing its default pod Ready: the outage as the handler sees it',
      buckets: [0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
      registers: [registry],
    }),
    flaps: new Counter({
      name: 'critsvc_flaps_total',
      help: 'Flaps within 60 s (FLAP_WINDOW_MS): kind lame-again, a critical Service lame again within 60 s of turning healthy; kind recreated, a default pod created within 60 s of the previous one for that Service being deleted',
      labelNames: ['kind'],
      registers: [registry],
    }),
  };
}

export type HandlerMetrics = ReturnType<typeof handlerMetrics>;
