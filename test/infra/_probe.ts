import { App } from 'aws-cdk-lib';
import * as fs from 'node:fs';
import { buildGiftCardApp } from '../../lib/giftcard-app';
const cdkJson = JSON.parse(fs.readFileSync('/work/main/cdk.json', 'utf8'));
const app = new App({ context: { ...cdkJson.context, 'aws:cdk:bundling-stacks': [] }, outdir: '/tmp/gcprobe.out' });
buildGiftCardApp(app);
const t0 = Date.now();
try { const asm = app.synth(); console.log('synth ok', asm.directory); } catch (e) { console.log(String(e).slice(0, 20000)); }
console.log('ms', Date.now() - t0);
