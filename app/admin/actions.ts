'use server';
// Server actions of the admin console. Each one checks the session itself: an action is an HTTP
// endpoint anyone can POST to, whatever the page showed.
import { redirect } from 'next/navigation';
import { revalidatePath } from 'next/cache';
import { currentSession, signInWithToken, signOutSession } from '@/lib/admin/console';
import { resetCircuitAs } from '@/lib/admin/circuit';
import type { CircuitState } from '@/lib/redis/breaker';

export type SignInResult = { error: string } | null;

const STORE_DOWN = 'The session store (Postgres) cannot be reached, so no session can be checked or ended.';

export async function signIn(_prev: SignInResult, form: FormData): Promise<SignInResult> {
  const token = form.get('token');
  if (typeof token !== 'string' || token.trim() === '') return { error: 'Enter the admin token.' };
  const outcome = await signInWithToken(token.trim());
  if (outcome === 'invalid') return { error: 'That token is not valid. No session was started.' };
  if (outcome === 'unavailable') return { error: `${STORE_DOWN} No session was started; try again once the database answers.` };
  redirect('/admin');
}

export async function signOut(): Promise<void> {
  const recorded = await signOutSession();
  redirect(recorded ? '/admin' : '/admin?signout=unrecorded');
}

export type ResetResult =
  | { ok: true; state: CircuitState; previousState: CircuitState; at: string }
  | { ok: false; error: string; at: string }
  | null;

export async function resetCircuitAction(_prev: ResetResult, _form: FormData): Promise<ResetResult> {
  const at = new Date().toISOString();
  const check = await currentSession();
  if (check.state === 'unavailable') return { ok: false, error: `${STORE_DOWN} Nothing was reset.`, at };
  if (check.state !== 'valid') return { ok: false, error: 'Your session has ended: sign in again to reset the circuit.', at };
  const result = resetCircuitAs({ kind: 'session', id: check.session.id });
  revalidatePath('/admin');
  return { ok: true, state: result.state, previousState: result.previousState, at };
}
