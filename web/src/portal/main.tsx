import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { CLAIM_PATH, ClaimPage } from './ClaimPage';
import { MemberPortal } from './member/MemberPortal';
import { programOfHash } from './member/session';
import { Portal } from './Portal';
import './portal.css';

const root = document.getElementById('root');
// Loyalty members: #/member/<loyaltyProgramId> (issue #17).
const memberProgram = programOfHash(window.location.hash);
if (root) {
  createRoot(root).render(
    <StrictMode>
      {window.location.pathname === CLAIM_PATH ? (
        <ClaimPage />
      ) : memberProgram ? (
        <MemberPortal loyaltyProgramId={memberProgram} />
      ) : (
        <Portal />
      )}
    </StrictMode>,
  );
}
