// How the deploy CLI (process runtime) and docker-compose.production.yml tell a slot where its unix
// socket is, read by the slot's preload (slot-socket.ts). No imports: the preload ships beside it
// in .next/standalone and in the image (scripts/deploy/ there), run by Node's type stripping.

export const SLOT_SOCKET_ENV = {
  /**
   * The unix socket the slot also serves on, beside its TCP port. nginx reaches the live slot
   * through a symlink to it that the deploy CLI re-points.
   */
  socket: 'SLOT_SOCKET',
  /** The `live.sock` symlink: while it names another socket, this slot is not live. */
  liveLink: 'SLOT_LIVE_LINK',
} as const;

/** Longest unix socket path Linux accepts (sun_path is 108 bytes with the terminating NUL). */
export const SOCKET_PATH_MAX = 107;

/** The preload, relative to a release directory (.next/standalone, the image's /app). */
export const SLOT_PRELOAD = 'scripts/deploy/slot-socket.ts';
