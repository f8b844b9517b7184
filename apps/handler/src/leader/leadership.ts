// The handler's leader election, built from its config: identity, timings, what losing means.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HandlerConfig, Logger } from '@critsvc/shared';
import { kubeLeaseApi, LeaderElector } from './leader-election.ts';
import type { HandlerMetrics } from '../metrics/metrics.ts';

type LeaseConfig = Pick<
  HandlerConfig,
  'LEASE_NAME' | 'LEASE_NAMESPACE' | 'LEASE_DURATION_SECONDS' | 'RENEW_DEADLINE_SECONDS' | 'RETRY_PERIOD_SECONDS'
>;

/** The pod's name (its hostname in Kubernetes) and a random part: a restarted pod is a new candidate. */
export function candidateIdentity(): string {
  return `${hostname()}_${randomBytes(4).toString('hex')}`;
}

export function electorFor(config: LeaseConfig, kc: KubeConfig, log: Logger, metrics: HandlerMetrics): LeaderElector {
  const identity = candidateIdentity();
  const lease = `${config.LEASE_NAMESPACE}/${config.LEASE_NAME}`;
  const startedAt = Date.now();
  metrics.leader.set(0);
  const elector = new LeaderElector({
    api: kubeLeaseApi(kc, config.LEASE_NAMESPACE, config.LEASE_NAME),
    identity,
    log,
    timings: {
      leaseDurationMs: config.LEASE_DURATION_SECONDS * 1000,
      renewDeadlineMs: config.RENEW_DEADLINE_SECONDS * 1000,
      retryPeriodMs: config.RETRY_PERIOD_SECONDS * 1000,
    },
    onLost: () => {
      metrics.leader.set(0);
      // As client-go's default: stop at once; Kubernetes restarts the process as a standby.
      log.error({ lease, identity }, 'leader Lease lost (not renewed within RENEW_DEADLINE_SECONDS); exiting');
      process.exit(1);
    },
    onLeading: (transitions) => {
      metrics.leader.set(1);
      log.info(
        { lease, identity, transitions, waitedMs: Date.now() - startedAt },
        'leader Lease acquired; loading the state',
      );
    },
  });
  log.info({ lease, identity }, 'leader election: waiting for the Lease');
  return elector;
}
