import 'reflect-metadata';
import { startGateway } from '../../src/app';
import { loadConfig } from '../../src/core/config/config';

/**
 * startGateway in a process of its own, configured from the environment: what a test needs when
 * the gateway must see errors exactly as node makes them (jest's sandbox gives node's own errors
 * another realm's Error, which graphql-js then treats as non-errors), or must be killed.
 */
startGateway(loadConfig(process.env)).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
