'use client';
// "Reset circuit" with a confirmation step. The step is a <details> disclosure, so it works with
// the keyboard and without JavaScript; the result is announced and the panel shows the new state.
import { useActionState } from 'react';
import { resetCircuitAction, type ResetResult } from './actions';
import styles from './admin.module.css';

export function ResetCircuitForm() {
  const [result, action, pending] = useActionState<ResetResult, FormData>(resetCircuitAction, null);
  return (
    <div className={styles.reset}>
      {/* Keyed by the last result so the confirmation closes after each reset. */}
      <details key={result?.at ?? 'initial'} className={styles.confirm}>
        <summary className={styles.danger}>Reset circuit…</summary>
        <form action={action} className={styles.confirmBody}>
          <p>
            Close the Redis circuit breaker of this server process now? Calls go to Redis again at once; if Redis is still failing, the breaker opens again.
          </p>
          <button type="submit" className={styles.dangerSolid} disabled={pending}>
            {pending ? 'Resetting…' : 'Yes, reset the circuit'}
          </button>
        </form>
      </details>
      <div role="status" aria-live="polite">
        {result?.ok === true && (
          <p className={styles.notice} data-testid="reset-result">
            Circuit reset: it was <strong>{result.previousState}</strong>, it is now <strong>{result.state}</strong>.
          </p>
        )}
        {result?.ok === false && (
          <p className={styles.error} data-testid="reset-result">
            {result.error}
          </p>
        )}
      </div>
    </div>
  );
}
