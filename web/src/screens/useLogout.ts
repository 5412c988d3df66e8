import { useCallback } from 'react';
import { useNavigate } from 'react-router-dom';
import { api } from '../api';
import { useAuth } from '../store';

/** Sign out: the server revokes the token (a failure is logged), and the session ends locally either way. */
export function useLogout(): () => void {
  const nav = useNavigate();
  return useCallback(() => {
    const revoke = async () => {
      try {
        await api.logout();
      } catch (e) {
        console.warn('[auth]', 'logout_failed', e);
      }
      useAuth.getState().logoutLocal();
      nav('/login', { replace: true });
    };
    void revoke();
  }, [nav]);
}
