import { existsSync } from 'node:fs';
import { type Config, ConfigError, loadConfig } from '../config/config.js';

/** The configuration file a command reads when `--config` is not given. */
export const DEFAULT_CONFIG = 'cutover.yaml';

/**
 * Loads the configuration a command was pointed at. A file that is not there is the most common
 * first mistake (running `cutover start` in a directory without a cutover.yaml), so its one-line
 * error says how to name one.
 */
export function loadConfigFile(file: string): Config {
  if (!existsSync(file)) {
    throw new ConfigError(`${file}: no such configuration file; name one with --config FILE (the demo's: --config demo/cutover.yaml)`);
  }
  return loadConfig(file);
}
