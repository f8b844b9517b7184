import { describe, expect, it } from 'vitest';
import {
  ALLOW_CREDENTIALS_ANNOTATION,
  buildDefaultPod,
  buildStandbyPod,
  containerPorts,
  credentialsProblem,
  credentialsRefusal,
  PAGE_ANNOTATIONS,
  type UsableTemplate,
} from './default-pod.ts';
import { checkTemplate, namespacedReferences } from './template-check.ts';
import { unsafeFields } from './template-safety.ts';
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
    [
      'privileged',
      { containers: [{ ...nginx, securityContext: { privileged: true } }] },
      'template.spec.containers[maintenance].securityContext.privileged: true',
    ],
    [
      'added capabilities',
      { containers: [{ ...nginx, securityContext: { capabilities: { add: ['NET_ADMIN'] } } }] },
      'capabilities.add: NET_ADMIN',
    ],
    [
      'privilege escalation',
      { initContainers: [{ name: 'init', image: 'x', securityContext: { allowPrivilegeEscalation: true } }] },
      'template.spec.initContainers[init].securityContext.allowPrivilegeEscalation: true',
    ],
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
    const pod = buildDefaultPod(checked.template, svc('frontend'), 'service-watcher-frontend', [crit('c', [])]) as {
      spec: Record<string, unknown>;
    };
    expect(pod.spec.automountServiceAccountToken).toBe(false);
  });

  it('lists the namespaced objects the spec refers to', () => {
    expect(
      namespacedReferences({
        imagePullSecrets: [{ name: 'regcred' }],
        volumes: [
          { name: 'a', secret: { secretName: 'tls' } },
          { name: 'b', configMap: { name: 'page' } },
          { name: 'c', projected: { sources: [{ configMap: { name: 'page' } }] } },
        ],
        containers: [
          {
            ...nginx,
            env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'api', key: 'k' } } }],
            envFrom: [{ configMapRef: { name: 'env' } }],
          },
        ],
      }),
    ).toEqual(['ConfigMap env', 'ConfigMap page', 'Secret api', 'Secret regcred (imagePullSecrets)', 'Secret tls']);
  });
});

/** The PodTemplate's namespace admins opt in to credentials (the PodTemplate's own annotation). */
const optedIn = (spec: Record<string, unknown>): unknown => ({
  metadata: { annotations: { [ALLOW_CREDENTIALS_ANNOTATION]: 'true' } },
  template: { spec: { containers: [nginx], ...spec } },
});
const withSc = (securityContext: Record<string, unknown>): Record<string, unknown> => ({
  containers: [{ ...nginx, securityContext }],
});

describe('checkTemplate: volumes on an allowlist, what Pod Security baseline refuses refused (issue 30, finding 4)', () => {
  it.each<[string, Record<string, unknown>, string, unknown?]>([
    [
      'a csi volume',
      { volumes: [{ name: 'v', csi: { driver: 'secrets-store.csi.k8s.io' } }] },
      'template.spec.volumes[v].csi',
    ],
    ['an nfs volume', { volumes: [{ name: 'v', nfs: { server: 'nfs', path: '/' } }] }, 'template.spec.volumes[v].nfs'],
    [
      'an unknown volume source',
      { volumes: [{ name: 'v', someFutureSource: {} }] },
      'template.spec.volumes[v].someFutureSource',
    ],
    [
      'a projected clusterTrustBundle',
      {
        volumes: [
          {
            name: 'v',
            projected: { sources: [{ configMap: { name: 'a' } }, { clusterTrustBundle: { name: 'b', path: 'b' } }] },
          },
        ],
      },
      'template.spec.volumes[v].projected.sources[1].clusterTrustBundle',
    ],
    [
      'an unknown projected source',
      { volumes: [{ name: 'v', projected: { sources: [{ podCertificate: {} }] } }] },
      'template.spec.volumes[v].projected.sources[0].podCertificate',
    ],
    ['nodeName', { nodeName: 'node-1' }, 'template.spec.nodeName: node-1'],
    [
      'seccomp Unconfined (pod)',
      { securityContext: { seccompProfile: { type: 'Unconfined' } } },
      'template.spec.securityContext.seccompProfile.type: Unconfined',
    ],
    [
      'seccomp Unconfined (container)',
      withSc({ seccompProfile: { type: 'Unconfined' } }),
      'template.spec.containers[maintenance].securityContext.seccompProfile.type: Unconfined',
    ],
    [
      'AppArmor Unconfined (pod)',
      { securityContext: { appArmorProfile: { type: 'Unconfined' } } },
      'template.spec.securityContext.appArmorProfile.type: Unconfined',
    ],
    [
      'AppArmor Unconfined (init container)',
      { initContainers: [{ name: 'init', image: 'x', securityContext: { appArmorProfile: { type: 'Unconfined' } } }] },
      'template.spec.initContainers[init].securityContext.appArmorProfile.type: Unconfined',
    ],
    [
      'AppArmor unconfined by the legacy annotation',
      {},
      'template.metadata.annotations[container.apparmor.security.beta.kubernetes.io/maintenance]: unconfined',
      { 'container.apparmor.security.beta.kubernetes.io/maintenance': 'unconfined' },
    ],
    [
      'an SELinux type outside the container ones (pod)',
      { securityContext: { seLinuxOptions: { type: 'spc_t' } } },
      'template.spec.securityContext.seLinuxOptions.type: spc_t',
    ],
    [
      'an SELinux type outside the container ones (container)',
      withSc({ seLinuxOptions: { type: 'unconfined_t' } }),
      'template.spec.containers[maintenance].securityContext.seLinuxOptions.type: unconfined_t',
    ],
    [
      'an SELinux user',
      { securityContext: { seLinuxOptions: { user: 'system_u' } } },
      'template.spec.securityContext.seLinuxOptions.user: system_u',
    ],
    [
      'an SELinux role',
      withSc({ seLinuxOptions: { role: 'sysadm_r' } }),
      'template.spec.containers[maintenance].securityContext.seLinuxOptions.role: sysadm_r',
    ],
    [
      'procMount Unmasked',
      withSc({ procMount: 'Unmasked' }),
      'template.spec.containers[maintenance].securityContext.procMount: Unmasked',
    ],
    [
      'an unsafe sysctl',
      {
        securityContext: {
          sysctls: [
            { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' },
            { name: 'kernel.msgmax', value: '1' },
          ],
        },
      },
      'template.spec.securityContext.sysctls[kernel.msgmax]',
    ],
    [
      'Windows hostProcess (pod)',
      { securityContext: { windowsOptions: { hostProcess: true } } },
      'template.spec.securityContext.windowsOptions.hostProcess: true',
    ],
    [
      'Windows hostProcess (ephemeral container)',
      {
        ephemeralContainers: [{ name: 'dbg', image: 'x', securityContext: { windowsOptions: { hostProcess: true } } }],
      },
      'template.spec.ephemeralContainers[dbg].securityContext.windowsOptions.hostProcess: true',
    ],
    [
      "any added capability, even one of baseline's default set",
      withSc({ capabilities: { add: ['NET_BIND_SERVICE', 'SYS_ADMIN'] } }),
      'template.spec.containers[maintenance].securityContext.capabilities.add: NET_BIND_SERVICE,SYS_ADMIN',
    ],
    [
      'a probe naming a host',
      { containers: [{ ...nginx, livenessProbe: { httpGet: { host: '169.254.169.254', port: 80 } } }] },
      'template.spec.containers[maintenance].livenessProbe.httpGet.host: 169.254.169.254',
    ],
    [
      'a lifecycle hook naming a host',
      { containers: [{ ...nginx, lifecycle: { preStop: { tcpSocket: { host: '10.0.0.1', port: 22 } } } }] },
      'template.spec.containers[maintenance].lifecycle.preStop.tcpSocket.host: 10.0.0.1',
    ],
  ])('refuses %s, naming the field, whatever the PodTemplate opts in to', (_what, spec, field, annotations) => {
    const meta = annotations ? { metadata: { annotations } } : {};
    for (const obj of [template(spec), optedIn(spec)] as { template: Record<string, unknown> }[]) {
      const checked = checkTemplate({ ...obj, template: { ...obj.template, ...meta } });
      expect(checked.ok).toBe(false);
      expect(!checked.ok && checked.error).toContain(field);
    }
  });

  it("accepts the allowlist's volumes (configMap, emptyDir, downwardAPI, projected of those, ephemeral, none named) and env not from Secrets: no credentials", () => {
    const checked = checkTemplate(
      template({
        volumes: [
          { name: 'a', configMap: { name: 'page' } },
          { name: 'b', emptyDir: { medium: 'Memory' } },
          { name: 'c', downwardAPI: { items: [] } },
          { name: 'd', projected: { sources: [{ configMap: { name: 'page' } }, { downwardAPI: { items: [] } }] } },
          {
            name: 'e',
            ephemeral: {
              volumeClaimTemplate: {
                spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
              },
            },
          },
          { name: 'f' },
        ],
        containers: [
          {
            ...nginx,
            env: [
              { name: 'A', value: '1' },
              { name: 'B', valueFrom: { configMapKeyRef: { name: 'page', key: 'k' } } },
              { name: 'C', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
            ],
            envFrom: [{ configMapRef: { name: 'env' } }],
          },
        ],
      }),
    );
    if (!checked.ok) throw new Error(checked.error);
    expect(checked.template.credentials).toEqual([]);
  });

  it('accepts what Pod Security baseline allows: RuntimeDefault/Localhost profiles, container SELinux types with a level, procMount Default, safe sysctls, dropped capabilities, probes without a host', () => {
    const checked = checkTemplate({
      template: {
        metadata: {
          annotations: {
            'container.apparmor.security.beta.kubernetes.io/maintenance': 'runtime/default',
            'container.apparmor.security.beta.kubernetes.io/side': 'localhost/page',
          },
        },
        spec: {
          securityContext: {
            seccompProfile: { type: 'RuntimeDefault' },
            appArmorProfile: { type: 'RuntimeDefault' },
            seLinuxOptions: { type: 'container_t', level: 's0:c1,c2' },
            windowsOptions: { hostProcess: false },
            sysctls: [
              'kernel.shm_rmid_forced',
              'net.ipv4.ip_unprivileged_port_start',
              'net.ipv4.tcp_keepalive_time',
            ].map((name) => ({ name, value: '1' })),
          },
          containers: [
            {
              ...nginx,
              ports: [{ containerPort: 80, hostPort: 0 }],
              readinessProbe: { httpGet: { path: '/', port: 80 } },
              lifecycle: { preStop: { sleep: { seconds: 1 } } },
              securityContext: {
                procMount: 'Default',
                seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
                appArmorProfile: { type: 'Localhost', localhostProfile: 'p' },
                seLinuxOptions: { type: 'container_init_t', user: '', role: '' },
                capabilities: { drop: ['ALL'] },
              },
            },
            { name: 'side', image: 'busybox' },
          ],
        },
      },
    });
    expect(checked.ok ? 'ok' : checked.error).toBe('ok');
  });
});

describe("checkTemplate: credentials only by the PodTemplate's opt-in (issue 30, finding 4)", () => {
  it.each<[string, Record<string, unknown>, string]>([
    [
      'a secret volume',
      { volumes: [{ name: 'tls', secret: { secretName: 'tls' } }] },
      'template.spec.volumes[tls].secret',
    ],
    [
      'a PVC',
      { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }] },
      'template.spec.volumes[data].persistentVolumeClaim',
    ],
    [
      'a projected Secret',
      {
        volumes: [
          { name: 'p', projected: { sources: [{ configMap: { name: 'page' } }, { secret: { name: 'tls' } }] } },
        ],
      },
      'template.spec.volumes[p].projected.sources[1].secret',
    ],
    [
      'a projected ServiceAccount token',
      { volumes: [{ name: 'p', projected: { sources: [{ serviceAccountToken: { path: 'token' } }] } }] },
      'template.spec.volumes[p].projected.sources[0].serviceAccountToken',
    ],
    [
      'an ephemeral volume cloned from another',
      {
        volumes: [
          {
            name: 'e',
            ephemeral: {
              volumeClaimTemplate: { spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'data' } } },
            },
          },
        ],
      },
      'template.spec.volumes[e].ephemeral.volumeClaimTemplate.spec.dataSource',
    ],
    [
      'env from a Secret key (container)',
      {
        containers: [
          { ...nginx, env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] },
        ],
      },
      'template.spec.containers[maintenance].env[PASSWORD].valueFrom.secretKeyRef',
    ],
    [
      'env from a Secret key (init container)',
      {
        initContainers: [
          { name: 'init', image: 'x', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'db', key: 't' } } }] },
        ],
      },
      'template.spec.initContainers[init].env[T].valueFrom.secretKeyRef',
    ],
    [
      'env from a Secret key (ephemeral container)',
      {
        ephemeralContainers: [
          { name: 'dbg', image: 'x', env: [{ name: 'T', valueFrom: { secretKeyRef: { name: 'db', key: 't' } } }] },
        ],
      },
      'template.spec.ephemeralContainers[dbg].env[T].valueFrom.secretKeyRef',
    ],
    [
      'envFrom a Secret',
      { containers: [{ ...nginx, envFrom: [{ configMapRef: { name: 'env' } }, { secretRef: { name: 'db' } }] }] },
      'template.spec.containers[maintenance].envFrom[1].secretRef',
    ],
    ['imagePullSecrets', { imagePullSecrets: [{ name: 'regcred' }] }, 'template.spec.imagePullSecrets[regcred]'],
  ])('%s: refused, naming the field, unless the PodTemplate opts in; then usable and listed', (_what, spec, field) => {
    const refused = checkTemplate(template(spec));
    expect(refused.ok).toBe(false);
    expect(!refused.ok && refused.error).toContain(field);
    expect(!refused.ok && refused.error).toContain(ALLOW_CREDENTIALS_ANNOTATION);
    const allowed = checkTemplate(optedIn(spec));
    if (!allowed.ok) throw new Error(allowed.error);
    expect(allowed.template.credentials).toEqual([field]);
  });

  it('only the PodTemplate\'s own annotation, only "true": not the template\'s metadata (copied to the pod), not "yes"', () => {
    const spec = { containers: [nginx], volumes: [{ name: 'tls', secret: { secretName: 'tls' } }] };
    for (const obj of [
      { template: { metadata: { annotations: { [ALLOW_CREDENTIALS_ANNOTATION]: 'true' } }, spec } },
      { metadata: { annotations: { [ALLOW_CREDENTIALS_ANNOTATION]: 'yes' } }, template: { spec } },
    ]) {
      const checked = checkTemplate(obj);
      expect(!checked.ok && checked.error).toContain('template.spec.volumes[tls].secret');
    }
  });

  it('lists every refused field at once, baseline and credentials alike', () => {
    const checked = checkTemplate(
      template({
        nodeName: 'n',
        volumes: [
          { name: 'tls', secret: { secretName: 'tls' } },
          { name: 'h', hostPath: { path: '/' } },
        ],
      }),
    );
    expect(!checked.ok && checked.error).toMatch(
      /template\.spec\.nodeName: n; template\.spec\.volumes\[h\]\.hostPath; template\.spec\.volumes\[tls\]\.secret/,
    );
  });
});

describe("credentials reach default pods in the PodTemplate's own namespace only (issue 30, finding 4)", () => {
  const ref = { namespace: 'team-a', name: 'page' };
  const usable = (spec: Record<string, unknown>): UsableTemplate => {
    const checked = checkTemplate(optedIn(spec));
    if (!checked.ok) throw new Error(checked.error);
    return checked.template;
  };
  const withSecret = usable({ volumes: [{ name: 'tls', secret: { secretName: 'tls' } }] });

  it("a default pod in the template's namespace may have them; one in another namespace may not, the fields and the namespace named", () => {
    expect(credentialsRefusal(withSecret, ref, 'team-a')).toBeUndefined();
    const why = credentialsRefusal(withSecret, ref, 'team-b');
    expect(why).toContain('template.spec.volumes[tls].secret');
    expect(why).toContain('only for default pods in its own namespace team-a');
    // A template without credentials serves every namespace, annotated or not.
    expect(credentialsRefusal(usable({}), ref, 'team-b')).toBeUndefined();
  });

  it("a CriticalService's status says so once it covers a Service outside the template's namespace", () => {
    const services = [svc('shop', { namespace: 'team-a' }), svc('web', { namespace: 'team-b' })];
    const watched: string[] = [];
    expect(credentialsProblem(withSecret, ref, crit('own', [], 'team-a'), services, watched)).toBeUndefined();
    expect(
      credentialsProblem(
        withSecret,
        ref,
        crit('only-a', [{ key: 'role', value: 'frontend' }], undefined),
        [services[0]!],
        watched,
      ),
    ).toBeUndefined();
    expect(credentialsProblem(withSecret, ref, crit('other', [], 'team-b'), services, watched)).toContain(
      '(Service team-b/web)',
    );
    expect(credentialsProblem(withSecret, ref, crit('all', [], undefined), services, watched)).toContain(
      'template.spec.volumes[tls].secret',
    );
    expect(credentialsProblem(usable({}), ref, crit('all', [], undefined), services, watched)).toBeUndefined();
  });
});

describe('containerPorts: the container listens where the Service sends traffic', () => {
  it.each<[string, Parameters<typeof svc>[1], unknown, unknown]>([
    [
      "numeric targetPort replaces the template's ports",
      { ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }] },
      [{ containerPort: 80 }],
      [{ containerPort: 8080, protocol: 'TCP' }],
    ],
    [
      'no targetPort: the port itself',
      { ports: [{ port: 80, protocol: 'TCP', name: 'http' }] },
      undefined,
      [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
    ],
    [
      "a named targetPort keeps the template's port of that name",
      { ports: [{ port: 80, targetPort: 'web', protocol: 'TCP' }] },
      [{ name: 'web', containerPort: 8080 }],
      [{ name: 'web', containerPort: 8080 }],
    ],
    [
      'same target twice → one port',
      {
        ports: [
          { port: 80, targetPort: 8080, protocol: 'TCP' },
          { port: 81, targetPort: 8080, protocol: 'TCP' },
        ],
      },
      [],
      [{ containerPort: 8080, protocol: 'TCP' }],
    ],
  ])('%s', (_name, o, templatePorts, expected) => {
    expect(containerPorts(svc('frontend', o), templatePorts)).toEqual(expected);
  });
});

describe('buildDefaultPod: what the page is told', () => {
  type Built = {
    metadata: { annotations: Record<string, string>; ownerReferences: { name: string; controller: boolean }[] };
    spec: {
      containers: {
        name: string;
        env: { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }[];
      }[];
      initContainers?: { env: unknown[] }[];
    };
  };
  const build = (
    spec: Record<string, unknown>,
    owners: CritInfo[] = [
      { ...crit('b-second', []), message: 'not me' },
      { ...crit('a-first', []), message: 'Back at <b>10:00</b>' },
    ],
  ): Built => {
    const checked = checkTemplate(template(spec));
    if (!checked.ok) throw new Error(checked.error);
    return buildDefaultPod(
      checked.template,
      svc('frontend', {
        ports: [
          { port: 80, targetPort: 8080, protocol: 'TCP' },
          { port: 53, targetPort: 5353, protocol: 'UDP' },
        ],
      }),
      'service-watcher-frontend',
      owners,
    ) as Built;
  };

  it('annotates the Service, its namespace, the controller CriticalService (first by name), its message and the TCP ports', () => {
    const pod = build({});
    expect(pod.metadata.annotations).toMatchObject({
      [PAGE_ANNOTATIONS.service]: 'frontend',
      [PAGE_ANNOTATIONS.namespace]: 'ns',
      [PAGE_ANNOTATIONS.criticalService]: 'a-first',
      [PAGE_ANNOTATIONS.message]: 'Back at <b>10:00</b>',
      [PAGE_ANNOTATIONS.ports]: '8080',
      'service-watcher': 'owned',
    });
    expect(pod.metadata.ownerReferences.find((o) => o.controller)?.name).toBe('a-first');
  });

  it('no message: an empty annotation (the page has its own text)', () => {
    expect(build({}, [crit('c', [])]).metadata.annotations[PAGE_ANNOTATIONS.message]).toBe('');
  });

  it("hands the annotations to every container and init container as env through the downward API, first, replacing the template's own of those names", () => {
    const pod = build({
      containers: [
        {
          ...nginx,
          env: [
            { name: 'CRITSVC_MESSAGE', value: 'forged' },
            { name: 'KEEP', value: '1' },
          ],
        },
        { name: 'side', image: 'busybox' },
      ],
      initContainers: [{ name: 'init', image: 'busybox' }],
    });
    for (const c of [...pod.spec.containers, ...(pod.spec.initContainers ?? [])] as { env: { name: string }[] }[]) {
      expect(c.env.slice(0, 5).map((e) => e.name)).toEqual([
        'CRITSVC_SERVICE',
        'CRITSVC_NAMESPACE',
        'CRITSVC_CRITICAL_SERVICE',
        'CRITSVC_MESSAGE',
        'CRITSVC_PORTS',
      ]);
    }
    const env = pod.spec.containers[0]?.env ?? [];
    expect(env.find((e) => e.name === 'CRITSVC_MESSAGE')).toEqual({
      name: 'CRITSVC_MESSAGE',
      valueFrom: { fieldRef: { fieldPath: `metadata.annotations['critsvc.mycrd.com/message']` } },
    });
    expect(env.filter((e) => e.name === 'CRITSVC_MESSAGE')).toHaveLength(1);
    expect(env.at(-1)).toEqual({ name: 'KEEP', value: '1' });
  });

  it('the template cannot forge the page annotations or the ownership mark', () => {
    const checked = checkTemplate({
      template: {
        metadata: { annotations: { [PAGE_ANNOTATIONS.service]: 'other', 'service-watcher': 'x' } },
        spec: { containers: [nginx] },
      },
    });
    if (!checked.ok) throw new Error(checked.error);
    const pod = buildDefaultPod(checked.template, svc('frontend'), 'p', [crit('c', [])]) as Built;
    expect(pod.metadata.annotations[PAGE_ANNOTATIONS.service]).toBe('frontend');
    expect(pod.metadata.annotations['service-watcher']).toBe('owned');
  });
});

describe('buildStandbyPod', () => {
  it("is the default pod started outside the Service's selector, named by the API server", () => {
    const checked = checkTemplate({
      template: { metadata: { labels: { app: 'web', from: 'template' } }, spec: { containers: [nginx] } },
    });
    if (!checked.ok) throw new Error(checked.error);
    const service = svc('frontend', { selector: { app: 'web', tier: 'front' } });
    const pod = buildStandbyPod(checked.template, service, 'service-watcher-frontend-standby-', [crit('c', [])]) as {
      metadata: Record<string, unknown> & { labels: Record<string, string>; annotations: Record<string, string> };
    };
    expect(pod.metadata.name).toBeUndefined();
    expect(pod.metadata.generateName).toBe('service-watcher-frontend-standby-');
    // No label of the selector, even one the template sets: the Service does not select it.
    expect(pod.metadata.labels).toEqual({
      from: 'template',
      'app.kubernetes.io/managed-by': 'critsvc',
      'critsvc.mycrd.com/service': 'frontend',
      'critsvc.mycrd.com/standby': 'true',
    });
    expect(pod.metadata.annotations['service-watcher']).toBe('owned');
  });
});
