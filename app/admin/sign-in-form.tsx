'use client';
// Sign-in with the admin token. A plain form posting to a server action: works without
// JavaScript too; with it, the error appears without a reload.
import { useActionState } from 'react';
import { signIn, type SignInResult } from './actions';
import styles from './admin.module.css';

export function SignInForm() {
  const [result, action, pending] = useActionState<SignInResult, FormData>(signIn, null);
  return (
    <form action={action} className={`${styles.panel} ${styles.signIn}`} aria-labelledby="sign-in-heading">
      <h2 id="sign-in-heading">Sign in</h2>
      <p className={styles.muted}>Use the admin token (ADMIN_API_TOKEN). The browser keeps a signed session cookie, never the token.</p>
      <label htmlFor="token">Admin token</label>
      <input
        id="token"
        name="token"
        type="password"
        autoComplete="off"
        required
        spellCheck={false}
        aria-invalid={result?.error ? true : undefined}
        aria-describedby={result?.error ? 'sign-in-error' : undefined}
      />
      {result?.error && (
        <p id="sign-in-error" className={styles.error} role="alert">
          {result.error}
        </p>
      )}
      <button type="submit" className={styles.primary} disabled={pending}>
        {pending ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}
