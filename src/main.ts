import { runCli } from './cli';

/** `npm run dev`: the gateway from the TypeScript sources, as `portcullis serve` runs it compiled. */
runCli(['serve']);
