import type { NextConfig } from 'next';

const nextConfig: NextConfig = {
  output: 'standalone',
  poweredByHeader: false,
  reactStrictMode: true,
  // Loaded with require() at run time instead of bundled: pg's optional native bits and
  // dd-trace's auto-instrumentation only work from node_modules.
  serverExternalPackages: ['pg', 'ioredis', 'dd-trace', 'pino'],
};

export default nextConfig;
