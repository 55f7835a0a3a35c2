/**
 * `npm run rotate-pepper [-- --data-dir .local]`: makes a new random card-code pepper current in
 * `<data-dir>/secrets.json`, keeping the old ones so cards issued before still look up. Restart
 * `npm start` to use it. (In AWS the secret is edited instead: see README, "Rotating the code pepper".)
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LocalRuntimeError } from './errors';
import { rotateLocalPepper } from './secrets';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string', default: '.local' } } });
const file = join(resolve(values['data-dir'] ?? '.local'), 'secrets.json');
try {
  const rotated = rotateLocalPepper(file);
  console.log(
    `Code pepper ${rotated.current} is now current in ${file} (kept for lookups: ${rotated.previous.join(', ')}). ` +
      'Restart npm start to issue new cards with it; cards issued before keep working.',
  );
} catch (error) {
  if (!(error instanceof LocalRuntimeError)) throw error;
  console.error(error.message);
  process.exit(1);
}
