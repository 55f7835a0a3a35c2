import { sendMessage } from '../store/message-sender';
import type { SendSignInMessage } from './member-sign-in';

/** Sign-in codes go out through the delivery service (SES e-mail or SMS; the mail catcher under npm start). */
export function memberSignInSender(): SendSignInMessage {
  return (message) => sendMessage({ ...message, purpose: 'MEMBER_SIGN_IN' });
}
