import { describe, expect, it } from 'vitest';
import { buildDefaultPod, buildStandbyPod, checkTemplate, containerPorts, namespacedReferences, PAGE_ANNOTATIONS, unsafeFields } from './default-pod.ts';
import { crit, svc } from '../../../../test/support/model-fixtures.ts';
import type { CritInfo } from './types.ts';

const nginx = { name: 'maintenance', image: 'nginx' };
const template = (spec: Record<string, unknown>): unknown => ({ template: { spec: { containers: [nginx], ...spec } } });

describe('checkTemplate: default pods are unprivileged whatever the template asks', () => {
  it.each<[string, Record<string, unknown>, string]>([
    ['hostNetwork', { hostNetwork: true }, 'template.spec.hostNetwork: true'],
    ['hostPID', { hostPID: true }, 'template.spec.hostPID: true'],
    ['hostIPC', { hostIPC: true }, 'template.spec.hostIPC: true'],
    ['a ServiceAccount', { serviceAccountName: 'admin' }, 'template.spec.serviceAccountName: admin'],
    ['a token', { automountServiceAccountToken: true }, 'template.spec.automountServiceAccountToken: true'],
    ['hostPath', { volumes: [{ name: 'root', hostPath: { path: '/' } }] }, 'template.spec.volumes[root].hostPath'],
    ['privileged', { containers: [{ ...nginx, securityContext: { privileged: true } }] }, 'template.spec.containers[maintenance].securityContext.privileged: true'],
    ['added capabilities', { containers: [{ ...nginx, securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] }, 'capabilities.add: NET_ADMIN'],
    ['privilege escalation', { initContainers: [{ name: 'init', image: 'x', securityContext: { allowPrivilegeEscalation: true } }] }, 'template.spec.initContainers[init].securityContext.allowPrivilegeEscalation: true'],
    ['a host port', { containers: [{ ...nginx, ports: [{ containerPort: 80, hostPort: 80 }] }] }, 'ports.hostPort: 80'],
  ])('refuses %s, naming the field', (_what, spec, field) => {
    const checked = checkTemplate(template(spec));
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.error).toContain(field);
  });

  it('accepts a plain template and lists every field at once', () => {
    expect(checkTemplate(template({})).ok).toBe(true);
    expect(unsafeFields({ hostNetwork: true, hostPID: true, containers: [nginx] })).toHaveLength(2);
  });

  it('the pod gets no ServiceAccount token', () => {
    const checked = checkTemplate(template({}));
    if (!checked.ok) throw new Error(checked.error);
    const pod = buildDefaultPod(checked.template, svc('frontend'), 'service-watcher-frontend', [crit('c', [])]) as { spec: Record<string, unknown> };
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });

  it('lists the namespaced objects the spec refers to', () => {
    expect(namespacedReferences({
      imagePullSecrets: [{ name: 'regcred' }],
      volumes: [{ name: 'a', secret: { secretName: 'tls' } }, { name: 'b', configMap: { name: 'page' } }, { name: 'c', projected: { sources: [{ configMap: { name: 'page' } }] } }],
      containers: [{ ...nginx, env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'api', key: 'k' } } }], envFrom: [{ configMapRef: { name: 'env' } }] }],
    })).toEqual(['ConfigMap env', 'ConfigMap page', 'Secret api', 'Secret regcred (imagePullSecrets)', 'Secret tls']);
  });
});

describe('containerPorts: the container listens where the Service sends traffic', () => {
  it.each<[string, Parameters<typeof svc>[1], unknown, unknown]>([
    ['numeric targetPort replaces the template\'s ports', { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] }, [{ containerPort: 80 }], [{ containerPort: 8080, protocol: 'TCP' }]],
    ['no targetPort: the port itself', { ports: [{ port: 80, protocol: 'TCP', name: 'http' }] }, undefined, [{ containerPort: 80, protocol: 'TCP', name: 'http' }]],
    ['a named targetPort keeps the template\'s port of that name', { ports: [{ port: 80, targetPort: 'web', protocol: 'TCP' }] }, [{ name: 'web', containerPort: 8080 }], [{ name: 'web', containerPort: 8080 }]],
    ['same target twice → one port', { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 81, targetPort: 8080, protocol: 'TCP' }] }, [], [{ containerPort: 8080, protocol: 'TCP' }]],
  ])('%s', (_name, o, templatePorts, expected) => {
    expect(containerPorts(svc('frontend', o), templatePorts)).toEqual(expected);
  });
});

describe('buildDefaultPod: what the page is told', () => {
  type Built = { metadata: { annotations: Record<string, string>; ownerReferences: { name: string; controller: boolean }[] }; spec: { containers: { name: string; env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[] }[]; initContainers?: { env: unknown[] }[] } };
  const build = (spec: Record<string, unknown>, owners: CritInfo[] = [{ ...crit('b-second', []), message: 'not me' }, { ...crit('a-first', []), message: 'Back at <b>10:00</b>' }]): Built => {
    const checked = checkTemplate(template(spec));
    if (!checked.ok) throw new Error(checked.error);
    return buildDefaultPod(checked.template, svc('frontend', { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }, { port: 53, targetPort: 5353, protocol: 'UDP' }] }), 'service-watcher-frontend', owners) as Built;
  };

  it('annotates the Service, its namespace, the controller CriticalService (first by name), its message and the TCP ports', () => {
    const pod = build({});
    expect(pod.metadata.annotations).toMatchObject({
      [PAGE_ANNOTATIONS.service]: 'frontend', [PAGE_ANNOTATIONS.namespace]: 'ns', [PAGE_ANNOTATIONS.criticalService]: 'a-first',
      [PAGE_ANNOTATIONS.message]: 'Back at <b>10:00</b>', [PAGE_ANNOTATIONS.ports]: '8080', 'service-watcher': 'owned',
    });
    expect(pod.metadata.ownerReferences.find((o) => o.controller)?.name).toBe('a-first');
  });

  it('no message: an empty annotation (the page has its own text)', () => {
    expect(build({}, [crit('c', [])]).metadata.annotations[PAGE_ANNOTATIONS.message]).toBe('');
  });

  it('hands the annotations to every container and init container as env through the downward API, first, replacing the template\'s own of those names', () => {
    const pod = build({
      containers: [{ ...nginx, env: [{ name: 'CRITSVC_MESSAGE', value: 'forged' }, { name: 'KEEP', value: '1' }] }, { name: 'side', image: 'busybox' }],
      initContainers: [{ name: 'init', image: 'busybox' }],
    });
    for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])] as { env: { name: string }[] }[]) {
      expect(c.env.slice(0, 5).map((e) => e.name)).toEqual(['CRITSVC_SERVICE', 'CRITSVC_NAMESPACE', 'CRITSVC_CRITICAL_SERVICE', 'CRITSVC_MESSAGE', 'CRITSVC_PORTS']);
    }
    const env = pod.spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'CRITSVC_MESSAGE')).toEqual({ name: 'CRITSVC_MESSAGE', valueFrom: { fieldRef: { fieldPath: `metadata.annotations['critsvc.mycrd.com/message']` } } });
    expect(env.filter((e) => e.name === 'CRITSVC_MESSAGE')).toHaveLength(1);
    expect(env.at(-1)).toEqual({ name: 'KEEP', value: '1' });
  });

  it('the template cannot forge the page annotations or the ownership mark', () => {
    const checked = checkTemplate({ template: { metadata: { annotations: { [PAGE_ANNOTATIONS.service]: 'other', 'service-watcher': 'x' } }, spec: { containers: [nginx] } } });
    if (!checked.ok) throw new Error(checked.error);
    const pod = buildDefaultPod(checked.template, svc('frontend'), 'p', [crit('c', [])]) as Built;
    expect(pod.metadata.annotations[PAGE_ANNOTATIONS.service]).toBe('frontend');
    expect(pod.metadata.annotations['service-watcher']).toBe('owned');
  });
});

describe('buildStandbyPod', () => {
  it('is the default pod started outside the Service\'s selector, named by the API server', () => {
    const checked = checkTemplate({ template: { metadata: { labels: { app: 'web', from: 'template' } }, spec: { containers: [nginx] } } });
    if (!checked.ok) throw new Error(checked.error);
    const service = svc('frontend', { selector: { app: 'web', tier: 'front' } });
    const pod = buildStandbyPod(checked.template, service, 'service-watcher-frontend-standby-', [crit('c', [])]) as { metadata: Record<string, unknown> & { labels: Record<string, string>; annotations: Record<string, string> } };
    expect(pod.metadata.name).toBeUndefined();
    expect(pod.metadata.generateName).toBe('service-watcher-frontend-standby-');
    // No label of the selector, even one the template sets: the Service does not select it.
    expect(pod.metadata.labels).toEqual({ from: 'template', 'app.kubernetes.io/managed-by': 'critsvc', 'critsvc.mycrd.com/service': 'frontend', 'critsvc.mycrd.com/standby': 'true' });
    expect(pod.metadata.annotations['service-watcher']).toBe('owned');
  });
});
