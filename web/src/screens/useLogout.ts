import { useCallback } from 'react';
import { useNavigate } from 'react-router-dom';
import { api } from '../api';
import { useAuth } from '../store';

export function useLogout() {
  const nav = useNavigate();
  return useCallback(async () => {
    try {
      await api.logout();
    } catch (e) {
      console.warn('[auth]', 'logout_failed', e);
    }
    useAuth.getState().logoutLocal();
    nav('/login', { replace: true });
  }, [nav]);
}
