// The `client` part's section of the bench report: what a client of the ClusterIP saw on the
// real node, cold and with hotStandby, and where the time went (bench/lib/client.ts).
import type { ClientModeResult, ClientResult, Stages } from './client.ts';
import { ms } from './stats.ts';

const STAGE_NAMES: [keyof Stages, string][] = [
  ['endpointGone', "the app's endpoint not ready on the EndpointSlice (from the DELETE)"],
  ['critsvc', 'critsvc: default pod created / warm pod relabelled (from the DELETE)'],
  ['scheduled', 'kube-scheduler: bound to the node'],
  ['kubeletPickup', 'kubelet: sandbox asked of containerd (from the binding)'],
  ['sandbox', 'containerd: pause sandbox + CNI bridge'],
  ['containerStart', "containerd: the page's container created and started"],
  ['readiness', 'kubelet: Ready reported (from the container start)'],
  ['endpointSlice', "kube-controller-manager: the default pod's endpoint ready (from Ready / the relabel)"],
  ['proxySync', 'kube-proxy: rules synced (from the EndpointSlice)'],
  ['toClient', "the client's first 503 (from kube-proxy's sync)"],
];

function row(name: string, m: ClientModeResult): string {
  return `| ${name} | ${m.trials} | ${ms(m.longestFailRun.p50)} | ${ms(m.longestFailRun.p99)} | ${ms(m.longestFailRun.max)} | ${ms(m.firstPage.p50)} | ${ms(m.firstPage.p99)} | ${ms(m.keepAliveLongestFailRun.p50)} | ${ms(m.keepAliveLongestFailRun.p99)} | ${m.failedPerTrial.p50} | ${m.handBackFailures.fresh} + ${m.handBackFailures.keepAlive} (${m.handBackFailures.trialsWithFailures} trials) |`;
}

export function clientSection(r: ClientResult): string[] {
  return [
    '## What a client sees (part `client`, the real node)',
    '',
    `A load client opens a new connection to the Service's ClusterIP every ${r.everyMs} ms (timeout ${r.timeoutMs} ms), and a keep-alive client sends one request after another on one connection, through kube-proxy's iptables rules on the local cluster's real node (containerd, kubelet, CNI bridge), while the real app's only pod is deleted (its endpoint goes as it terminates), deploy/'s page serves, the app comes back (a new pod, readiness probe every 1 s) and critsvc hands back. A failed request: refused, reset or timed out. The longest run of failures: from the first failed request's start to the next answered one's start (the page's 503 counts as answered). Hand-back failures: failed requests from the new app pod Ready to 2 s after the default pod was deleted (goal 0).`,
    ...(r.error ? ['', `**Stopped early:** ${r.error}`] : []),
    '',
    '| mode | trials | longest failed run p50 | p99 | max | first 503 p50 | p99 | keep-alive longest run p50 | p99 | failed requests per trial p50 | hand-back failures (new conn + keep-alive) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    row('cold', r.cold),
    row('hotStandby', r.hot),
    '',
    "Where the time goes (medians over the trials, ms; each from the components' own timestamps: the pod and EndpointSlice watches, containerd's CRI log lines, kube-proxy's `SyncProxyRules complete` lines, the client):",
    '',
    '| part | cold | hotStandby |',
    '|---|---|---|',
    ...STAGE_NAMES.map(
      ([k, name]) => `| ${name} | ${ms(r.cold.stageMedians[k] ?? NaN)} | ${ms(r.hot.stageMedians[k] ?? NaN)} |`,
    ),
    '',
  ];
}
