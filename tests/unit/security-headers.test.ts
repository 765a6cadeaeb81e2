import { describe, expect, it } from 'vitest';
import { parseEnv } from '@/lib/env';
import { isApiPath, pageCsp, securityHeaders } from '@/lib/http/security-headers';

describe('security headers', () => {
  const prod = parseEnv({ NODE_ENV: 'test' });
  it('one value per header, HSTS only in production, strict CSP for APIs', () => {
    const list = securityHeaders(prod, null);
    const names = list.map(([n]) => n);
    expect(new Set(names).size).toBe(names.length);
    expect(names).not.toContain('strict-transport-security');
    expect(Object.fromEntries(list)['content-security-policy']).toContain("default-src 'none'");
    const production = { ...prod, NODE_ENV: 'production' as const };
    expect(securityHeaders(production, null).map(([n]) => n)).toContain('strict-transport-security');
  });
  it('page CSP: scripts only by nonce, no framing, eval only in development', () => {
    const csp = pageCsp('abc123', prod);
    expect(csp).toContain("script-src 'self' 'nonce-abc123' 'strict-dynamic'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-eval');
    expect(pageCsp('n', { ...prod, NODE_ENV: 'development' })).toContain("'unsafe-eval'");
  });
  it('classifies API paths', () => {
    expect(isApiPath('/api/health/live')).toBe(true);
    expect(isApiPath('/apis')).toBe(false);
    expect(isApiPath('/')).toBe(false);
  });
});
