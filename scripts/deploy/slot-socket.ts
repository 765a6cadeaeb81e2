// Preload of a slot: `node --import ./scripts/deploy/slot-socket.ts server.js` (the image's CMD,
// and how the process runtime starts a slot). The Next standalone server keeps its TCP port (health
// gate, `status`, the guide's `curl http://localhost:3008/...`, the container HEALTHCHECK) and also
// serves the slot's unix socket (SLOT_SOCKET), which nginx reaches through the live/backup
// symlinks the deploy CLI re-points: a switch without an nginx reload (docs/deploy.md).
//  - Connections accepted on the socket are handed to Next's own http server (its 'connection'
//    event): same handlers, timeouts and SIGTERM drain as the TCP port.
//  - While the live link (SLOT_LIVE_LINK) does not name this slot's socket, every response says
//    `Connection: close`, so nginx never returns a connection to this slot to its keep-alive pool:
//    pooled connections leave the slot one finished request at a time, with no race. (The server
//    closing an idle keep-alive connection while nginx writes a request on it is exactly the reset
//    the reload-free switch removes.) Checked per request: one readlink, always current, so a
//    manual `mv -T` of the link works too.
//  - The socket closes with the server (SIGTERM -> Next's server.close), its file is removed, and
//    the server's close waits for the socket's in-flight requests and streams as for its own.
//    A stale socket file (a killed process) is removed at start; one a live process answers on is
//    refused. Socket mode 0666: nginx's workers run as another user; who may reach the socket is
//    decided by its directory (docs/deploy.md).
// Without SLOT_SOCKET this file does nothing: `node --import ... server.js` is then plain server.js.
import { chmodSync, lstatSync, mkdirSync, readlinkSync, statSync, unlinkSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { dirname, resolve } from 'node:path';
import { SLOT_SOCKET_ENV, SOCKET_PATH_MAX } from './slot-env.ts';

function fail(message: string, code: number): never {
  console.error(`slot-socket: ${message}`);
  process.exit(code);
}

/** true when `link` (a symlink, relative or absolute target) resolves to `socketPath`. */
export function linkNames(link: string, socketPath: string): boolean {
  try {
    return resolve(dirname(link), readlinkSync(link)) === socketPath;
  } catch {
    return false; // no link yet (before the first switch), or not a symlink: not live
  }
}

/** Removes a socket file no process answers on; refuses a live one or anything that is not a socket. */
async function clearStale(path: string): Promise<void> {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there
  }
  if (!st.isSocket()) fail(`${path} exists and is not a socket; refusing to replace it`, 78);
  const answered = await new Promise<boolean>((res) => {
    const c = net.connect(path);
    c.once('connect', () => (c.destroy(), res(true)));
    c.once('error', () => res(false));
  });
  if (answered) fail(`another process is serving ${path}; refusing to take it over`, 1);
  unlinkSync(path);
}

function serveSocket(server: http.Server, socketPath: string, liveLink: string | undefined): void {
  const live = () => liveLink === undefined || linkNames(liveLink, socketPath);
  server.prependListener('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!live()) res.setHeader('connection', 'close');
  });

  const sock = net.createServer((conn) => server.emit('connection', conn));
  let inode: number | null = null;
  const removeFile = () => {
    try {
      if (inode !== null && statSync(socketPath).ino === inode) unlinkSync(socketPath);
    } catch {
      /* already gone */
    }
    inode = null;
  };
  // Next's SIGTERM handler calls server.close() and exits once its callback runs. Stop accepting on
  // the socket at the same moment, and hold that callback until the socket's connections have
  // ended too: they were accepted by `sock`, so the http server's own close does not wait for them
  // (an SSE stream on the socket would be cut by the exit). The app's shutdown deadline
  // (lib/lifecycle/shutdown.ts) still bounds the whole drain.
  const close = server.close.bind(server);
  server.close = ((cb?: (err?: Error) => void) => {
    const socketDrained = new Promise<void>((res) => (sock.listening ? sock.close(() => res()) : res()));
    removeFile();
    return close((err?: Error) => void socketDrained.then(() => cb?.(err)));
  }) as typeof server.close;
  process.once('exit', removeFile);

  void (async () => {
    mkdirSync(dirname(socketPath), { recursive: true, mode: 0o755 });
    await clearStale(socketPath);
    sock.once('error', (err) => fail(`cannot listen on ${socketPath}: ${err.message}`, 1));
    sock.listen(socketPath, () => {
      chmodSync(socketPath, 0o666);
      inode = statSync(socketPath).ino;
      console.log(`slot-socket: also serving on unix:${socketPath}${liveLink ? ` (live while ${liveLink} names it)` : ''}`);
    });
  })();
}

const socketPath = process.env[SLOT_SOCKET_ENV.socket];
if (socketPath) {
  const liveLink = process.env[SLOT_SOCKET_ENV.liveLink] || undefined;
  if (Buffer.byteLength(socketPath) > SOCKET_PATH_MAX) fail(`${SLOT_SOCKET_ENV.socket} is ${Buffer.byteLength(socketPath)} bytes; unix socket paths are limited to ${SOCKET_PATH_MAX}: ${socketPath}`, 78);
  // Next creates exactly one http server for the app; the first one that listens is it.
  const createServer = http.createServer;
  let attached = false;
  http.createServer = ((...args: Parameters<typeof http.createServer>) => {
    const server = createServer(...args);
    server.once('listening', () => {
      if (attached) return;
      attached = true;
      serveSocket(server, resolve(socketPath), liveLink && resolve(liveLink));
    });
    return server;
  }) as typeof http.createServer;
}
