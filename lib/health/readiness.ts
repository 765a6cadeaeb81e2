import { isShuttingDown } from '../lifecycle/shutdown';
import { getHealthReport } from './service';

export async function getReadiness(): Promise<{ httpStatus: number; body: { status: string; reason?: string } }> {
  if (isShuttingDown()) return { httpStatus: 503, body: { status: 'unavailable', reason: 'shutting down' } };
  // Same cached snapshot as /api/health/system: readiness probes add no dependency traffic.
  const report = await getHealthReport();
  if (report.status === 'unhealthy') return { httpStatus: 503, body: { status: 'unavailable', reason: 'critical dependency unhealthy' } };
  return { httpStatus: 200, body: { status: 'ready' } };
}
