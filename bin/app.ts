/**
 * The CDK app: `npx cdk synth` / `npx cdk deploy 'GiftCard-*-eu-west-1'`.
 * One stack set per region of cdk.json's context `regions` (see lib/config.ts).
 */
import { App } from 'aws-cdk-lib';
import { ConfigError } from '../lib/config';
import { buildGiftCardApp } from '../lib/giftcard-app';

const app = new App();
try {
  buildGiftCardApp(app);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}
app.synth();
