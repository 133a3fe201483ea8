import { ConfigError, loadConfig } from '../../src/core/config/config';

/** The problem lines of the ConfigError loadConfig throws for env; fails the test when it accepts env. */
export function configProblems(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}
