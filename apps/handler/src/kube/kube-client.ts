// The handler's door to the API server built on a KubeConfig: its reads (kube-reads.ts), its
// writes (kube-writes.ts) and the PodTemplate watches, behind the KubeActions interface.
import type { KubeConfig } from '@kubernetes/client-node';
import { ListWatcher, listPage, type KubeObject } from '@critsvc/shared';
import type { KubeActions } from './kube-actions.ts';
import { kubeReads } from './kube-reads.ts';
import { kubeWrites } from './kube-writes.ts';
import type { TemplateRef } from '../model/types.ts';
import type { TemplateWatch, WatchTemplate } from './template-watch.ts';

/** The template watches' server-side timeout and stall margin (the watchers' defaults). */
const TEMPLATE_WATCH_TIMEOUT_SECONDS = 300;
const TEMPLATE_WATCH_STALL_SECONDS = 30;

export function kubeActions(kc: KubeConfig): KubeActions {
  return {
    ...kubeWrites(kc),
    ...kubeReads(kc),
    watchTemplate(ref, on) {
      return templateWatch(kc, ref, on);
    },
  };
}

function templateWatch(kc: KubeConfig, ref: TemplateRef, on: Parameters<WatchTemplate>[1]): TemplateWatch {
  const path = `/api/v1/namespaces/${ref.namespace}/podtemplates`;
  const query = { fieldSelector: `metadata.name=${ref.name}` };
  return new ListWatcher<'PodTemplate'>({
    kc,
    log: on.log,
    push: on.push,
    target: {
      kind: 'PodTemplate',
      scope: ref.namespace,
      path,
      query,
      list: async ({ limit, continue: c }) => {
        try {
          return await listPage(kc, path, limit, c, query);
        } catch (err) {
          on.listFailed(err);
          throw err;
        }
      },
    },
    // The whole object: the template is what matters.
    strip: (obj) => obj as KubeObject,
    timeoutSeconds: TEMPLATE_WATCH_TIMEOUT_SECONDS,
    stallSeconds: TEMPLATE_WATCH_STALL_SECONDS,
  });
}
