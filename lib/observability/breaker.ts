// The Redis circuit breaker, observed. The only module here that imports the breaker, and only
// through its public contract (getCircuitSnapshot, onCircuitEvent, CircuitState):
//  - unite_hub_circuit_breaker_state{breaker="redis",state=...}: read from the breaker at every
//    scrape (always current) and also updated on each transition;
//  - unite_hub_circuit_breaker_events_total{breaker="redis",event=...}: every breaker event since
//    the process started (open, halfOpen, close, reject, timeout, failure, success);
//  - APM: each transition (open, halfOpen, close) is a zero-length `circuit.transition` span in the
//    trace of the request that caused it (e.g. the admin reset, or the call whose failure tripped it).
// Transition and admin-reset log lines are written by the breaker and the admin audit themselves.
import { getCircuitSnapshot, onCircuitEvent, type CircuitState } from '../redis/breaker';
import { singleton } from '../singleton';
import { CIRCUIT_STATES, getMetrics, onScrape, setStateSet } from './metrics';
import { traceEvent } from './tracing';

const TRANSITIONS = new Set(['open', 'halfOpen', 'close']);

export function observeRedisBreaker(): void {
  singleton('observability.redis-breaker', () => {
    const m = getMetrics();
    const setState = (state: CircuitState) => setStateSet(m.circuitState, { breaker: 'redis' }, 'state', CIRCUIT_STATES, state);
    const offScrape = onScrape(() => setState(getCircuitSnapshot().state));
    const offEvents = onCircuitEvent((e) => {
      m.circuitEvents.inc({ breaker: 'redis', event: e.type });
      if (!TRANSITIONS.has(e.type)) return;
      setState(e.state);
      traceEvent('circuit.transition', `redis ${e.type}`, { 'circuit.name': 'redis', 'circuit.event': e.type, 'circuit.state': e.state, 'circuit.at': e.at });
    });
    return { offScrape, offEvents };
  });
}
