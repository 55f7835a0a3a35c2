import { resetConfigForTests } from '../../functions/config';
import { resetCheckLimitsForTests } from '../../functions/http/rate-limit';
import { resetStaffKeysForTests } from '../../functions/http/staff-token';
import { resetApnsForTests } from '../../functions/store/apns';
import { resetAppleCertificatesForTests } from '../../functions/store/apple-certificates';
import { resetDbForTests } from '../../functions/store/dynamo-client';
import { resetExportSignerForTests } from '../../functions/store/export-signer';
import { resetGoogleWalletForTests } from '../../functions/store/google-wallet';
import { resetIdempotencyForTests } from '../../functions/store/idempotency';
import { resetMessageSenderForTests } from '../../functions/store/message-sender';
import { resetPushCredentialsForTests } from '../../functions/store/push-credentials';
import { resetS3ForTests } from '../../functions/store/s3-client';
import { resetSecretsForTests } from '../../functions/store/secrets';
import { resetUsageKeysForTests } from '../../functions/store/usage-keys';

/**
 * Forgets everything the handlers derived from the environment at their cold start (config, staff
 * keys, DynamoDB client, pepper, idempotency key), as a new Lambda instance would. Call after changing
 * process.env; testEnv, createTestTable and startTestStack do.
 */
export function resetHandlerState(): void {
  resetConfigForTests();
  resetCheckLimitsForTests();
  resetStaffKeysForTests();
  resetDbForTests();
  resetSecretsForTests();
  resetIdempotencyForTests();
  resetUsageKeysForTests();
  resetS3ForTests();
  resetExportSignerForTests();
  resetPushCredentialsForTests();
  resetApnsForTests();
  resetAppleCertificatesForTests();
  resetGoogleWalletForTests();
  resetMessageSenderForTests();
}
