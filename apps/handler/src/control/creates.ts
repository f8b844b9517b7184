// A Service's default pod created: from the template its controlling CriticalService names, with
// the live check before the create, or (a failover of a Service seen served, all of it confirmed
// by the API server) just after it, off the outage's path.
import { apiMessage, httpStatus, isTransient } from '@critsvc/shared';
import { awaited, logFor, type ActionParts } from './act-support.ts';
import { CreateRefused, TemplateUnusable } from './action-errors.ts';
import { CHECK_AFTER_MS, type DueCheck, type LiveConfirm } from './live-confirm.ts';
import type { CreateResult } from '../kube/kube-actions.ts';
import type { Action } from '../model/decide.ts';
import { buildDefaultPod, controllerCrit, credentialsRefusal, type UsableTemplate } from '../model/default-pod.ts';
import type { CritInfo, ServiceInfo, TemplateRef } from '../model/types.ts';

/** What the controller's record of the Service says before a create. */
export interface CreateContext {
  /** A decision found the Service served by a real pod before: losing it is a failover. */
  served: boolean;
  /** The live check disagreed lately: the create waits for the check. */
  suspect: boolean;
}

/** A create done: the live check still due after it (an unchecked failover), or the outage confirmed before it. */
export interface Created {
  check?: DueCheck;
  /** The live check before the create confirmed an outage: the next failover need not wait for it. */
  confirmed: boolean;
}

interface Made {
  result: CreateResult;
  owners: CritInfo[];
  template: TemplateRef;
}

export class Creates {
  private readonly o: ActionParts;
  private readonly live: LiveConfirm;

  constructor(o: ActionParts, live: LiveConfirm) {
    this.o = o;
    this.live = live;
  }

  /**
   * A failover (the Service had a real pod, and lost it): the create, and CHECK_AFTER_MS later the
   * live check that the API server agrees the Service is lame and critical, so that the check is
   * off the outage's path (and does not compete with the create, the scheduler, the kubelet).
   * Should the API server disagree (a forged or stale queue job), the pod just created is deleted
   * at once and the state repaired; that Service's creates then wait for the check until one
   * confirms an outage (at most CHECK_FIRST_MS): lies cost at most one short-lived pod per
   * Service, never a pod deleted or changed. Any other create waits for the check: a Service
   * never seen served (new, or its pods not seen yet: the watchers race at a Service's birth),
   * or one whose Service or CriticalServices only the queue told of (see Confirmed).
   */
  async create(key: string, action: Extract<Action, { type: 'create' }>, ctx: CreateContext): Promise<Created> {
    const { service: svc, podName } = action;
    const checked = !ctx.served || !this.confirmedAsStated(svc, action.owners) || ctx.suspect;
    const decidedAt = this.o.store.podsAsOf(svc.namespace);
    const made = checked
      ? await this.createChecked(key, svc, podName, action.owners)
      : await this.createUnchecked(key, svc, podName, action.owners);
    const { result, template } = made;
    this.o.reporter.templateFixed(template);
    this.o.templates.worked(template);
    this.o.reporter.settled(key, 'template', 'refused');
    this.o.metrics.actions.inc({ action: 'create', result: result.result });
    const stagesMs = this.o.timeline.done(key, 'create');
    if (result.result === 'created') this.o.clock.created(key);
    const check: DueCheck | undefined = checked
      ? undefined
      : {
          svc,
          covering: action.owners,
          result,
          due: Date.now() + CHECK_AFTER_MS,
          at: { creating: podName, ...(decidedAt === undefined ? {} : { decidedAt }) },
        };
    if (check) this.o.queue.addAfter(key, CHECK_AFTER_MS);
    logFor(this.o.log, key).info(
      {
        pod: podName,
        ns: svc.namespace,
        result: result.result,
        owners: made.owners.map((c) => c.name),
        checked: checked ? 'before' : 'after',
        ...(stagesMs ? { stagesMs } : {}),
      },
      'default pod created',
    );
    if (result.result === 'created')
      await this.o.reporter.event(
        svc,
        'Normal',
        'DefaultPodCreated',
        `Service has no real pod; created default pod ${podName}`,
      );
    return check ? { check, confirmed: false } : { confirmed: true };
  }

  /**
   * The Service and the CriticalServices covering it are in the state at versions the API server
   * gave (not only the queue): the pod built from them is theirs (selector, owners, template).
   */
  private confirmedAsStated(svc: ServiceInfo, covering: CritInfo[]): boolean {
    const c = this.o.confirmed;
    return (
      c.service(svc.key, svc.resourceVersion) && covering.every((crit) => c.crit(crit.name, crit.uid, crit.generation))
    );
  }

  private async createChecked(key: string, svc: ServiceInfo, podName: string, covering: CritInfo[]): Promise<Made> {
    const stated = this.o.templates.refOf(controllerCrit(covering));
    let template = await this.usableTemplate(svc, podName, stated);
    const owners = await this.live.confirmLame(key, svc, covering, {
      decidedAt: this.o.store.podsAsOf(svc.namespace),
    });
    const ref = this.o.templates.refOf(controllerCrit(owners));
    if (ref.namespace !== stated.namespace || ref.name !== stated.name)
      template = await this.usableTemplate(svc, podName, ref);
    const result = await this.submitCreate(key, svc, podName, buildDefaultPod(template, svc, podName, owners), ref);
    return { result, owners, template: ref };
  }

  /** The pod as the state has it (owners, the template their controller names), no read before. */
  private async createUnchecked(key: string, svc: ServiceInfo, podName: string, covering: CritInfo[]): Promise<Made> {
    const ref = this.o.templates.refOf(controllerCrit(covering));
    const template = await this.usableTemplate(svc, podName, ref);
    const result = await this.submitCreate(key, svc, podName, buildDefaultPod(template, svc, podName, covering), ref);
    return { result, owners: covering, template: ref };
  }

  async usableTemplate(svc: ServiceInfo, podName: string, ref: TemplateRef): Promise<UsableTemplate> {
    const lookup = this.o.templates.get(ref);
    // The template is checked once for all Services; its credentials (if it opts in) are for its own namespace only.
    const elsewhere = lookup.ok ? credentialsRefusal(lookup.template, ref, svc.namespace) : undefined;
    const tmpl = elsewhere ? { ok: false as const, error: elsewhere } : lookup;
    if (!tmpl.ok && tmpl.pending) throw new TemplateUnusable(tmpl.error); // its first list decides again
    if (!tmpl.ok) {
      this.o.status.markAll();
      await this.o.reporter.templateProblem(ref, tmpl.error);
      await this.o.reporter.warnOnce(svc, {
        topic: 'template',
        what: tmpl.error,
        reason: 'PodTemplateUnusable',
        message: `cannot create default pod ${podName}: ${tmpl.error}`,
        detail: { template: `${ref.namespace}/${ref.name}` },
      });
      throw new TemplateUnusable(tmpl.error);
    }
    const refs = tmpl.template.references;
    if (refs.length && svc.namespace !== ref.namespace) {
      await this.o.reporter.warnOnce(svc, {
        topic: 'template-refs',
        what: refs.join(', '),
        reason: 'PodTemplateReferences',
        message: `the PodTemplate refers to ${refs.join(', ')}: the default pod looks them up in namespace ${svc.namespace}, where they may not exist`,
      });
    }
    return tmpl.template;
  }

  /** The create itself, awaited as an expectation; a refusal is told apart: the template's fault (422) or admission's. */
  private async submitCreate(
    key: string,
    svc: ServiceInfo,
    podName: string,
    pod: Record<string, unknown>,
    template: TemplateRef,
  ): Promise<CreateResult> {
    this.o.timeline.sent(key);
    try {
      return await awaited(this.o, key, { kind: 'create', key, podName }, () => this.o.kube.createPod(pod));
    } catch (err) {
      if (isTransient(err)) throw err;
      if (httpStatus(err) === 422) {
        // The pod itself is invalid: the template is to blame.
        this.o.templates.invalidate(template, `the pod built from it was refused: ${apiMessage(err)}`);
        throw new TemplateUnusable(apiMessage(err));
      }
      // Admission said no (a terminating namespace, ResourceQuota, Pod Security, a webhook): not the
      // template's fault. Said once per message, retried with backoff; the Service's record shows it blocked.
      await this.o.reporter.warnOnce(svc, {
        topic: 'refused',
        what: apiMessage(err),
        reason: 'DefaultPodRefused',
        message: `the API server refused default pod ${podName}: ${apiMessage(err)}`,
      });
      throw new CreateRefused(apiMessage(err));
    }
  }
}
