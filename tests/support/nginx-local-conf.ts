// nginx/local/nginx.conf (the local/test variant) listens on 127.0.0.1:8080. Harnesses run a copy
// of it on a free loopback port instead: this is the one place that knows how.
const LOCAL_LISTEN = 'listen 127.0.0.1:8080;';

/** The local config's text with its listen port replaced; throws if the config changed shape. */
export function localNginxConfOnPort(conf: string, port: number): string {
  if (!conf.includes(LOCAL_LISTEN)) {
    throw new Error(`nginx/local/nginx.conf no longer contains "${LOCAL_LISTEN}"; update tests/support/nginx-local-conf.ts`);
  }
  return conf.replace(LOCAL_LISTEN, `listen 127.0.0.1:${port};`);
}
