import { type Api, ApiError } from './api.js';
import { h } from './dom.js';

/**
 * The login form, as a modal dialog over whatever the user was doing: after a 401 nothing they typed elsewhere is
 * lost, and the request that failed is retried once they are back. Resolves after a successful login.
 */
export function askForLogin(api: Api, notice?: string): Promise<void> {
  pending ??= new Promise<void>((resolve) => {
    const error = h('p', { class: 'form-error', role: 'alert', id: 'login-error' });
    const username = h('input', { id: 'login-username', name: 'username', autocomplete: 'username', required: true, autocapitalize: 'none', spellcheck: 'false' });
    const password = h('input', { id: 'login-password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
    const submit = h('button', { type: 'submit', class: 'primary' }, 'Log in');
    const form = h(
      'form',
      { class: 'login-form', 'aria-describedby': 'login-error' },
      h('h1', { id: 'login-title' }, 'Log in to Damson'),
      notice ? h('p', { class: 'notice' }, notice) : null,
      h('label', { for: 'login-username' }, 'User name'),
      username,
      h('label', { for: 'login-password' }, 'Password'),
      password,
      error,
      submit,
    );
    const dialog = h('dialog', { class: 'login-dialog', 'aria-labelledby': 'login-title' }, form);
    // The form is the only way out: Escape must not leave a half-logged-in screen.
    dialog.addEventListener('cancel', (event) => event.preventDefault());
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      error.textContent = '';
      try {
        await api.login(username.value, password.value);
        dialog.close();
        dialog.remove();
        pending = null;
        resolve();
      } catch (failure) {
        error.textContent = failure instanceof ApiError ? failure.message : 'Login failed';
        password.value = '';
        password.focus();
      } finally {
        submit.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    username.focus();
  });
  return pending;
}

/** One login form at a time, however many requests failed with 401 at once. */
let pending: Promise<void> | null = null;
