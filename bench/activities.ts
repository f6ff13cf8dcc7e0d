/** The no-op workflow's only activity: it does nothing, so what is left is Temporal's own cost. */
export const benchActivities = {
  async noop(): Promise<void> {},
};
export type BenchActivities = typeof benchActivities;
