// Next bundles instrumentation, proxy and each route into separate chunks, and dev mode reloads
// modules on every edit. Anything that must exist once per process (clients, caches, the
// shutdown flag) therefore lives on globalThis under a registered symbol, not in module scope.
export function singleton<T>(key: string, create: () => T): T {
  const sym = Symbol.for(`unite-hub.${key}`);
  const store = globalThis as unknown as Record<symbol, T | undefined>;
  let value = store[sym];
  if (value === undefined) {
    value = create();
    store[sym] = value;
  }
  return value;
}

/**
 * Drops a singleton so the next call creates it anew, and returns what it held (to close it).
 * Only the module that owns a key calls this, through its own exported reset function.
 */
export function resetSingleton<T>(key: string): T | undefined {
  const store = globalThis as unknown as Record<symbol, T | undefined>;
  const sym = Symbol.for(`unite-hub.${key}`);
  const value = store[sym];
  delete store[sym];
  return value;
}
