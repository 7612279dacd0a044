/**
 * The gateway's own time for a request: everything until the response headers, minus the
 * time spent waiting for the upstream. Sent as Server-Timing so overhead is measured the
 * same way locally and on AWS.
 */
export class Timing {
  private upstreamMs = 0;

  constructor(private readonly receivedAt: number) {}

  /** Awaits an upstream step and books its duration as upstream time. */
  async upstream<T>(work: Promise<T>): Promise<T> {
    const start = performance.now();
    try {
      return await work;
    } finally {
      this.upstreamMs += performance.now() - start;
    }
  }

  header(): string {
    const total = performance.now() - this.receivedAt;
    const gateway = Math.max(0, total - this.upstreamMs);
    const parts = [`gateway;dur=${gateway.toFixed(2)}`];
    if (this.upstreamMs > 0) parts.push(`upstream;dur=${this.upstreamMs.toFixed(2)}`);
    return parts.join(", ");
  }
}
