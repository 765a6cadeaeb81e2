// Who made an admin request or action: what authentication hands a handler and what the audit
// trail records. `id` is the JWT subject or the console session id; the token has none.
export type AdminCallerKind = 'token' | 'jwt' | 'session';

export interface AdminCaller {
  kind: AdminCallerKind;
  id?: string;
}
