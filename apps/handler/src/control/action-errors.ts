// Why a decision's action did not happen, when that is not the API server failing: each is
// retried with the per-Service backoff (TEMPLATE_RETRY_SECONDS caps it), not logged as an error.

export class TemplateUnusable extends Error {
  override name = 'TemplateUnusable';
}

/** The API server does not confirm what the state says; the state was repaired, the Service is decided again. */
export class StateDisagrees extends Error {
  override name = 'StateDisagrees';
  /** The state was wrong, not just behind: the Service's next creates wait for the live check. */
  readonly suspect: boolean;

  constructor(message: string, { suspect = false }: { suspect?: boolean } = {}) {
    super(message);
    this.suspect = suspect;
  }
}

/** The API server's admission refused the default pod; reported already, retried with backoff. */
export class CreateRefused extends Error {
  override name = 'CreateRefused';
}
