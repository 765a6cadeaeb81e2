// GET /api/health/live and /api/health/ready: live means the process answers (no dependency is
// touched); ready means "not shutting down, and no critical dependency down". They live with the
// lifecycle (which knows about shutdown) on top of lib/health (which does not).
import { getHealthReport } from '../health/service';
import { isShuttingDown } from './shutdown';

export function getLiveness(): { body: { status: 'ok' } } {
  return { body: { status: 'ok' } };
}

export async function getReadiness(): Promise<{ status: number; body: { status: string; reason?: string } }> {
  if (isShuttingDown()) return { status: 503, body: { status: 'unavailable', reason: 'shutting down' } };
  // Same cached snapshot as /api/health/system: readiness probes add no dependency traffic.
  const report = await getHealthReport();
  if (report.status === 'unhealthy') return { status: 503, body: { status: 'unavailable', reason: 'critical dependency unhealthy' } };
  return { status: 200, body: { status: 'ready' } };
}
