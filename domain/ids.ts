/**
 * Workflow ids are built from business keys here and nowhere else, so a second request for the same
 * thing finds the same workflow. Subjects may contain `|` (Auth0: `auth0|abc`); ids keep them verbatim
 * and the API takes them URL-encoded.
 */
export const processes = ['signup', 'link', 'tokens', 'sync', 'disconnect', 'recovery', 'export', 'erasure'] as const;
export type ProcessName = (typeof processes)[number];

export const workflowIds = {
  signup: (subject: string) => `signup/${subject}`,
  link: (accountId: string, provider: string) => `link/${accountId}/${provider}`,
  tokens: (accountId: string, provider: string) => `tokens/${accountId}/${provider}`,
  sync: (accountId: string, provider: string) => `sync/${accountId}/${provider}`,
  disconnect: (accountId: string, provider: string) => `disconnect/${accountId}/${provider}`,
  /** A random request id, never the email: the id must not tell whether an account exists. */
  recovery: (recoveryId: string) => `recovery/${recoveryId}`,
  /** One per request: a person may ask for several exports over time. The request id is random. */
  export: (accountId: string, requestId: string) => `export/${accountId}/${requestId}`,
  /** One per account: a second erasure request joins the first. */
  erasure: (accountId: string) => `erasure/${accountId}`,
  /** The erasure's child that purges its tombstone after the retention period (outlives the erasure's run). */
  erasurePurge: (accountId: string) => `erasure-purge/${accountId}`,
} as const;

/** The process a workflow id belongs to, or undefined when it is not one of ours. */
export function processOfWorkflowId(workflowId: string): ProcessName | undefined {
  const head = workflowId.split('/', 1)[0];
  return (processes as readonly string[]).includes(head ?? '') ? (head as ProcessName) : undefined;
}
