import type { FastifyInstance } from 'fastify';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { isRedisUnavailable } from '../lib/redis.js';

export interface MetricSources {
  /** Jobs in the shared queue by state (queued, running, done, failed). */
  jobsByState(): Promise<Record<string, number>>;
  activeSessions(): Promise<number>;
}

/**
 * What `/services/system/metrics` reports, in the Prometheus text format: requests and their latency by route
 * (the route's pattern, never the raw URL, so the number of series stays bounded), the job queue, active
 * sessions, and how often a store could not be reached. Queue and session figures are read at scrape time
 * from the shared stores, so every node reports the cluster's numbers.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'damson_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  private readonly latency = new Histogram({
    name: 'damson_http_request_duration_seconds',
    help: 'Time from receiving a request to the end of its answer, by method and route pattern',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly series = new Map<string, { count: Counter.Internal; latency: Histogram.Internal<'method' | 'route'> }>();
  private readonly storeErrors = new Counter({
    name: 'damson_store_unavailable_total',
    help: 'Requests answered 503 because a store could not be reached, by store',
    labelNames: ['store'] as const,
    registers: [this.registry],
  });

  constructor(sources: MetricSources) {
    new Gauge({
      name: 'damson_jobs',
      help: 'Background jobs in the shared queue by state (failed = gave up after the last retry)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await sources.jobsByState();
        for (const state of ['queued', 'running', 'done', 'failed']) this.set({ state }, counts[state] ?? 0);
      },
    });
    new Gauge({
      name: 'damson_active_sessions',
      help: 'Login sessions and API tokens used within the idle timeout, on every node',
      registers: [this.registry],
      async collect() {
        this.set(await sources.activeSessions());
      },
    });
  }

  /** Counts every answered request (including 404s and errors) from this app. */
  observe(app: FastifyInstance): void {
    app.addHook('onResponse', (request, reply, done) => {
      const { count, latency } = this.seriesFor(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode);
      count.inc();
      latency.observe(reply.elapsedTime / 1000);
      done();
    });
  }

  /**
   * The counter and histogram children of one method, route and status. Looked up once per combination (their
   * number is bounded by the routes): resolving labels on every request is most of what counting costs.
   */
  private seriesFor(method: string, route: string, status: number) {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = { count: this.requests.labels({ method, route, status: String(status) }), latency: this.latency.labels({ method, route }) };
      this.series.set(key, series);
    }
    return series;
  }

  storeUnavailable(error: unknown): void {
    const store = isRedisUnavailable(error) ? 'redis' : (error as { $metadata?: unknown }).$metadata ? 'object-storage' : 'database';
    this.storeErrors.inc({ store });
  }
}
