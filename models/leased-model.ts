/**
 * A loaded model version shared by concurrent batches. A batch leases the versions it scores with;
 * a version replaced meanwhile (an activation, a shadow detached) is retired and released when its
 * last lease ends, never under a batch still scoring with it.
 */

export interface Releasable {
  release(): Promise<void>;
}

export class LeasedModel<M extends Releasable> {
  private leases = 0;
  private retired = false;
  private released = false;

  constructor(
    readonly model: M,
    private readonly onReleaseError: (error: Error, model: M) => void,
  ) {}

  /** No new lease: released now if no batch holds it, else when the last one ends. */
  retire(): void {
    this.retired = true;
    this.releaseIfUnused();
  }

  hold(): void {
    this.leases++;
  }

  drop(): void {
    this.leases--;
    this.releaseIfUnused();
  }

  private releaseIfUnused(): void {
    if (!this.retired || this.leases > 0 || this.released) return;
    this.released = true;
    void this.model.release().catch((error: Error) => this.onReleaseError(error, this.model));
  }
}

/**
 * Runs `work` with every one of `models` leased, so none is released under it.
 *
 * @example
 * const current = scorer; // a LeasedModel<FinanceScorer>, replaced by the registry watch at any time
 * const scores = await withLeases([current], () => current.model.score(statements));
 */
export async function withLeases<M extends Releasable, R>(
  models: readonly LeasedModel<M>[],
  work: () => Promise<R>,
): Promise<R> {
  models.forEach((m) => m.hold());
  try {
    return await work();
  } finally {
    models.forEach((m) => m.drop());
  }
}
