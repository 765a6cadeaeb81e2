// The contract between the app and the deploy CLI (scripts/deploy), in one place both sides
// import: which headers say what answered a request, what the health body reports about the
// release, and the environment the CLI (or the compose file) starts a slot with.
// No imports at all: Next bundles it (proxy.ts, lib/health) and Node's type stripping loads it
// as is (the CLI on a host without node_modules, the slot socket preload inside the image).

/** Response header naming the slot that answered (`blue` / `green`); nginx logs it, the CLI confirms a switch by it. */
export const SLOT_HEADER = 'x-deployment-slot';
/** Response header with the release the answering slot runs. */
export const VERSION_HEADER = 'x-app-version';

export const DEPLOY_SLOTS = ['blue', 'green'] as const;
export type DeploySlot = (typeof DEPLOY_SLOTS)[number];

/** Routes the CLI probes: the health gate and `status` read the full report, confirm and the container HEALTHCHECK the cheap one. */
export const HEALTH_SYSTEM_PATH = '/api/health/system';
export const HEALTH_LIVE_PATH = '/api/health/live';

/** What `GET /api/health/system` reports about the release, beside its checks. The gate passes only when both match. */
export interface SlotIdentity {
  version: string;
  slot: DeploySlot | null;
}

export function slotIdentity(version: string, slot: DeploySlot | undefined | null): SlotIdentity {
  return { version, slot: slot ?? null };
}

/** Environment a slot is started with (the process runtime sets it, docker-compose.production.yml too). */
export const SLOT_ENV = {
  /** The release, reported in VERSION_HEADER and the health body. */
  version: 'APP_VERSION',
  /** `blue` / `green`, reported in SLOT_HEADER and the health body. */
  slot: 'DEPLOYMENT_SLOT',
} as const;
