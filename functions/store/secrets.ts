import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { config } from '../config';

let pepper: Promise<string> | undefined;

/**
 * The card-code pepper: given directly under `npm start` and in tests, read once per cold start from
 * Secrets Manager in AWS. It keys the HMAC that turns a code into a card id and the idempotency
 * response encryption.
 */
export function codePepper(): Promise<string> {
  if (!pepper) {
    const { CODE_PEPPER, CODE_PEPPER_SECRET_ID, AWS_REGION } = config();
    if (CODE_PEPPER) {
      pepper = Promise.resolve(CODE_PEPPER);
    } else {
      const client = new SecretsManagerClient({ region: AWS_REGION });
      pepper = client.send(new GetSecretValueCommand({ SecretId: CODE_PEPPER_SECRET_ID })).then((out) => {
        if (!out.SecretString || out.SecretString.length < 32) {
          throw new Error('The code pepper secret is missing or shorter than 32 characters');
        }
        return out.SecretString;
      });
      pepper.catch(() => {
        pepper = undefined;
      });
    }
  }
  return pepper;
}

export function resetSecretsForTests(): void {
  pepper = undefined;
}
