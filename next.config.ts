import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  output: 'standalone',
  poweredByHeader: false,
  reactStrictMode: true,
  // Loaded with require() at run time instead of bundled: pg's optional native bits and
  // dd-trace's auto-instrumentation only work from node_modules; pino and prom-client must be
  // one copy per process (not one per route bundle) for log hooks and the shared metrics registry.
  serverExternalPackages: ['pg', 'ioredis', 'dd-trace', 'pino', 'prom-client'],
  // Next's file tracing follows dd-trace's static requires only: it misses files dd-trace loads by
  // computed path (dd-trace/init for NODE_OPTIONS=--require, parts of its vendored deps, its own
  // @opentelemetry/api copy) and native-metrics' prebuilt binaries (DD_RUNTIME_METRICS_ENABLED).
  // Ship them whole in .next/standalone. (AppSec/IAST native modules are left out: not enabled.)
  outputFileTracingIncludes: {
    '/**': ['./node_modules/dd-trace/**/*', './node_modules/@datadog/native-metrics/**/*'],
  },
};

export default nextConfig;
