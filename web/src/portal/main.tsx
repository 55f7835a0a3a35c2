import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CLAIM_PATH, ClaimPage } from './ClaimPage';
import { Portal } from './Portal';
import './portal.css';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>{window.location.pathname === CLAIM_PATH ? <ClaimPage /> : <Portal />}</StrictMode>,
  );
}
