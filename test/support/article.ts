// The article's scenario (section 5.4, acceptance 1 in pipeline.test.ts) against whatever runs the
// pipeline: critical Service `frontend`, lame → default pod `service-watcher-frontend` selected by
// it; a real pod `nginx` appears → the default pod is deleted. The PodTemplate is linux-mag's.
import { expect } from 'vitest';
import { ensureNamespace, type Kube } from './kube.ts';
import {
  createCrit,
  createRealPod,
  createService,
  createTemplate,
  critStatus,
  defaultPods,
  events,
  pods,
} from './objects.ts';
import { eventually } from './wait.ts';

/** linux-mag's PodTemplate, which the pipeline under test must use (as compose.env says). */
export async function articleTemplate(k: Kube): Promise<void> {
  await ensureNamespace(k, 'linux-mag');
  await createTemplate(k, 'linux-mag');
}

/** Runs the scenario in namespace `ns` with the CriticalService `frontend` (the caller deletes it). */
export async function articleScenario(k: Kube, ns: string, timeoutMs = 30_000): Promise<void> {
  await createService(k, ns, 'frontend', {
    labels: { role: 'frontend' },
    selector: { role: 'frontend' },
    targetPort: 8080,
  });
  await createCrit(k, 'frontend', { namespace: ns, matchLabels: [{ key: 'role', value: 'frontend' }] });

  const [pod] = await eventually(
    'default pod service-watcher-frontend',
    async () => {
      const d = await defaultPods(k, ns);
      return d.length ? d : undefined;
    },
    timeoutMs,
  );
  expect(pod?.metadata?.name).toBe('service-watcher-frontend');
  expect(pod?.metadata?.labels?.role).toBe('frontend'); // the Service selects it
  expect(pod?.metadata?.annotations?.['service-watcher']).toBe('owned');
  expect(pod?.metadata?.ownerReferences).toEqual([
    expect.objectContaining({ kind: 'CriticalService', name: 'frontend', controller: true }),
  ]);
  expect(pod?.spec?.containers[0]?.ports?.map((p) => p.containerPort)).toEqual([8080]); // follows targetPort
  expect(pod?.spec?.containers[0]?.image).toBe('nginx:1.27-alpine'); // from the PodTemplate

  const status = await eventually(
    'status showing the lame Service',
    async () => {
      const s = await critStatus(k, 'frontend');
      return s?.defaultPodCount === 1 ? s : undefined;
    },
    timeoutMs,
  );
  expect(status).toMatchObject({
    coveredServices: 1,
    lameCount: 1,
    lameServices: [`${ns}/frontend`],
    defaultPods: [`${ns}/service-watcher-frontend`],
    observedGeneration: 1,
  });
  expect(status.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  await eventually(
    'a DefaultPodCreated event on the Service',
    async () => (await events(k, ns)).some((e) => e.reason === 'DefaultPodCreated' && e.object === 'frontend'),
    timeoutMs,
  );

  await createRealPod(k, ns, 'nginx', { role: 'frontend' });
  await eventually('default pod deleted', async () => (await defaultPods(k, ns)).length === 0, timeoutMs);
  await eventually(
    'only the real pod left',
    async () => (await pods(k, ns)).map((p) => p.metadata?.name).join() === 'nginx',
    timeoutMs,
  );
  await eventually('status back to healthy', async () => (await critStatus(k, 'frontend'))?.lameCount === 0, timeoutMs);
}
