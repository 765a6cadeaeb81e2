// Which port each service gets on this run. A service that already runs keeps its port; the slot
// ports stay fixed while a slot runs (the deploy CLI addresses the live slot by them); everything
// else goes through choosePort (the caller's STACK_<NAME>_PORT, last run's port, the default, any).
import { DEFAULT_PORTS, PORT_ENV, type Ports, type Service } from './layout.ts';
import { anyFreePort, choosePort, describeHolder, isPortFree } from './ports.ts';
import { StackError } from './report.ts';

export interface Running {
  postgres?: { port?: number };
  redis?: { port?: number };
  nginx?: { port?: number };
  /** Slots the deploy CLI reports running. */
  slots: string[];
}

export async function planPorts(previous: Partial<Ports>, running: Running, env: Record<string, string | undefined>): Promise<{ ports: Ports; notes: string[] }> {
  const notes: string[] = [];
  const ports = {} as Ports;
  const explicit = (s: Service) => env[PORT_ENV[s]];
  const keep = (s: Service, port: number) => {
    const want = explicit(s);
    if (want && Number(want) !== port) throw new StackError(`${s} of this stack already runs on port ${port}, not ${PORT_ENV[s]}=${want}; npm run stack:down first to change it`, 2);
    ports[s] = port;
  };
  const choose = async (s: Service) => {
    const c = await choosePort(s, { explicit: explicit(s), envName: PORT_ENV[s], previous: previous[s], preferred: DEFAULT_PORTS[s] });
    if (c.note) notes.push(c.note);
    ports[s] = c.port;
  };
  for (const s of ['postgres', 'redis', 'nginx'] as const) {
    const r = running[s];
    const port = r?.port ?? previous[s];
    if (r && port) keep(s, port);
    else await choose(s);
  }
  if (running.slots.length > 0) {
    for (const s of ['blue', 'green'] as const) {
      const port = previous[s];
      if (!port) throw new StackError(`a slot runs but stack.json has no port for ${s}; npm run stack:down, then npm run stack`);
      keep(s, port);
      // The slot about to start must find its port free; it cannot move while the other one runs.
      if (!running.slots.includes(s) && !(await isPortFree(port))) {
        throw new StackError(`the ${s} slot: ${describeHolder(port)}; stop it, or npm run stack:down and npm run stack to choose new ports`);
      }
    }
  } else {
    await choose('blue');
    await choose('green');
    // choosePort does not reserve: a port picked for blue may look free for green too.
    if (ports.green === ports.blue && !explicit('green')) ports.green = await anyFreePort();
  }
  const values = Object.values(ports);
  if (new Set(values).size !== values.length) throw new StackError(`two services would share a port (${JSON.stringify(ports)}); set distinct STACK_*_PORT values`, 2);
  return { ports, notes };
}
