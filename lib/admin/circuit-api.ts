// The admin circuit endpoints' logic. Each request authenticates itself (proxy.ts only turns
// away requests without any credential); answers are never cached.
import { errorResponse } from '../errors';
import { authenticateAdmin } from './auth';
import { circuitStatus, resetCircuitAs } from './circuit';

const NO_STORE = { 'cache-control': 'no-store' };

export async function circuitStatusResponse(request: Request): Promise<Response> {
  const requestId = request.headers.get('x-request-id');
  try {
    await authenticateAdmin(request);
    return Response.json(circuitStatus().body, { headers: NO_STORE });
  } catch (err) {
    return errorResponse(err, requestId);
  }
}

export async function resetCircuitResponse(request: Request): Promise<Response> {
  const requestId = request.headers.get('x-request-id');
  try {
    const caller = await authenticateAdmin(request);
    return Response.json(resetCircuitAs(caller), { headers: NO_STORE });
  } catch (err) {
    return errorResponse(err, requestId);
  }
}
