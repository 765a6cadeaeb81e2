// The status page's words for each component and status. The colour is never the only signal:
// every status also has a word and a glyph.
import type { CheckName, HealthStatus } from '@/lib/health/types';

export const COMPONENT_LABEL: Record<CheckName, string> = {
  database: 'Database',
  redis: 'Cache (Redis)',
  ai_service: 'AI service',
};

export const COMPONENT_ROLE: Record<CheckName, string> = {
  database: 'Critical: the app cannot serve without it.',
  redis: 'Optional: without it the app keeps serving, slower.',
  ai_service: 'Optional: AI features pause without it.',
};

export const STATUS_TEXT: Record<HealthStatus, { word: string; glyph: string; headline: string }> = {
  healthy: { word: 'Healthy', glyph: '✓', headline: 'All systems operational.' },
  degraded: { word: 'Degraded', glyph: '!', headline: 'Some components have problems; the app is still serving.' },
  unhealthy: { word: 'Unhealthy', glyph: '✕', headline: 'A critical component is down; the app cannot serve normally.' },
};

/**
 * A check the operator declared unused (HEALTH_UNUSED_CHECKS): its dependency is absent on purpose
 * and does not count towards the overall status, so the card says so instead of "Degraded".
 */
export const UNUSED_TEXT = { word: 'Not used', glyph: '–', role: 'Not used by this installation (declared in HEALTH_UNUSED_CHECKS).' };
