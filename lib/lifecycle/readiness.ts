// GET /api/health/ready: ready means "not shutting down, and no critical dependency down". It lives
// with the lifecycle (which knows about shutdown) on top of lib/health (which does not).
import { getHealthReport } from '../health/service';
import { isShuttingDown } from './shutdown';

export async function getReadiness(): Promise<{ status: number; body: { status: string; reason?: string } }> {
  if (isShuttingDown()) return { status: 503, body: { status: 'unavailable', reason: 'shutting down' } };
  // Same cached snapshot as /api/health/system: readiness probes add no dependency traffic.
  const report = await getHealthReport();
  if (report.status === 'unhealthy') return { status: 503, body: { status: 'unavailable', reason: 'critical dependency unhealthy' } };
  return { status: 200, body: { status: 'ready' } };
}
