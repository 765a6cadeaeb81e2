// The observability variables in lib/env.ts and the APM switch built on them.
import { describe, expect, it } from 'vitest';
import { parseEnv } from '@/lib/env';
import { envErrorOf } from '../support/env-fixtures';
import { apmEnabled } from '@/lib/observability/apm';

const errorOf = envErrorOf;

describe('observability environment', () => {
  it('defaults: APM off, service unite-hub, log level info', () => {
    const env = parseEnv({});
    expect(env).toMatchObject({ ENABLE_APM: false, DD_SERVICE: 'unite-hub', LOG_LEVEL: 'info' });
    expect(env.DD_ENV).toBeUndefined();
    expect(apmEnabled(env)).toBe(false);
  });

  it('APM is on only with ENABLE_APM=true and APM_PROVIDER=datadog', () => {
    expect(apmEnabled(parseEnv({ ENABLE_APM: 'true', APM_PROVIDER: 'datadog' }))).toBe(true);
    expect(apmEnabled(parseEnv({ ENABLE_APM: 'false', APM_PROVIDER: 'datadog' }))).toBe(false);
    expect(apmEnabled(parseEnv({ APM_PROVIDER: 'datadog' }))).toBe(false);
  });

  it('refuses ENABLE_APM=true without a provider, an unknown provider, a bad agent URL or log level, echoing no value', () => {
    expect(errorOf({ ENABLE_APM: 'true' }).variables).toEqual(['APM_PROVIDER']);
    expect(errorOf({ ENABLE_APM: 'true', APM_PROVIDER: 'newrelic' }).variables).toEqual(['APM_PROVIDER']);
    const bad = errorOf({ DD_TRACE_AGENT_URL: 'datadog-agent:8126-typo', LOG_LEVEL: 'loud' });
    expect(bad.variables.sort()).toEqual(['DD_TRACE_AGENT_URL', 'LOG_LEVEL']);
    expect(bad.message).not.toContain('datadog-agent:8126-typo');
    expect(bad.message).not.toContain('loud');
  });

  it('accepts http(s) and unix agent URLs', () => {
    expect(parseEnv({ DD_TRACE_AGENT_URL: 'http://datadog-agent:8126' }).DD_TRACE_AGENT_URL).toBe('http://datadog-agent:8126');
    expect(parseEnv({ DD_TRACE_AGENT_URL: 'unix:///var/run/datadog/apm.socket' }).DD_TRACE_AGENT_URL).toBe('unix:///var/run/datadog/apm.socket');
  });
});
