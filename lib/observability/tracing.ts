// A thin seam over dd-trace so app code can create spans without importing the tracer. When APM
// is off (the default) no tracer is registered and every helper here just runs the work: dd-trace
// is never loaded, and the cost is one property read.
import type ddTrace from 'dd-trace';
import { singleton } from '../singleton';

export type Tracer = typeof ddTrace;
type Span = ddTrace.Span;
type SpanTags = Record<string, string | number | boolean | undefined>;

const holder = () => singleton<{ tracer: Tracer | null }>('apm.tracer', () => ({ tracer: null }));

/** Called once by lib/observability/apm.ts after dd-trace's init(). */
export function registerTracer(tracer: Tracer): void {
  holder().tracer = tracer;
}

/**
 * Runs `work` inside a child span of whatever span is active (the request's, usually).
 * `work` receives the span (undefined when APM is off) to tag with what it learned.
 */
export function traced<T>(name: string, resource: string, tags: SpanTags, work: (span: Span | undefined) => Promise<T>): Promise<T> {
  const tracer = holder().tracer;
  if (!tracer) return work(undefined);
  return tracer.trace(name, { resource, tags: clean(tags) }, (span) => work(span));
}

/** Tags the span that is active right now (e.g. the web request) if there is one. */
export function tagActiveSpan(tags: SpanTags): void {
  const span = holder().tracer?.scope().active();
  if (span) span.addTags(clean(tags));
}

/**
 * Records an instantaneous event (a breaker transition, an admin reset) as a zero-length span in
 * the active trace, so it shows on the timeline of the request that caused it.
 */
export function traceEvent(name: string, resource: string, tags: SpanTags): void {
  const tracer = holder().tracer;
  if (!tracer) return;
  tracer.trace(name, { resource, tags: clean(tags) }, () => undefined);
}

function clean(tags: SpanTags): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(tags)) if (v !== undefined) out[k] = v;
  return out;
}
