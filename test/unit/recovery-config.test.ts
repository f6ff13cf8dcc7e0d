/** The recovery overrides of the environment, as the API applies them: RECOVERY_MIN_CONNECTION_AGE. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../domain/config.js';
import { recoverySettings } from '../../api/routes/recoveries/settings.js';

const base = { CRA_ENV: 'test' };

describe('RECOVERY_MIN_CONNECTION_AGE', () => {
  it('defaults to 7 days', () => {
    const config = loadConfig(base);
    expect(config.recovery?.minConnectionAge).toBeUndefined();
    expect(recoverySettings(config).minConnectionAgeMs).toBe(7 * 24 * 3600_000);
  });

  it('takes a duration', () => {
    const config = loadConfig({ ...base, RECOVERY_MIN_CONNECTION_AGE: '3 days' });
    expect(config.recovery).toMatchObject({ minConnectionAge: '3 days' });
    expect(recoverySettings(config).minConnectionAgeMs).toBe(3 * 24 * 3600_000);
  });

  it('names the variable when it is no duration', () => {
    expect(() => loadConfig({ ...base, RECOVERY_MIN_CONNECTION_AGE: 'a week' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, RECOVERY_MIN_CONNECTION_AGE: 'a week' })).toThrow(/RECOVERY_MIN_CONNECTION_AGE/);
  });
});
