/** Provider ids CRA can connect to a root identity. The catalog with endpoints lives in `activities/providers/`. */
export const providerIds = [
  'google',
  'apple',
  'facebook',
  'microsoft',
  'x',
  'discord',
  'github',
  'linkedin',
  'amazon',
  'spotify',
  'slack',
  'reddit',
  'coderabbit',
] as const;
export type ProviderId = (typeof providerIds)[number];
