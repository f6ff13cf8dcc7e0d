/**
 * Disconnect activities that are neither provider nor directory calls: claiming the connection on the
 * account (the last-login-method check and the claim in one conditional write, so two disconnects cannot
 * both pass the check) and waiting for the connection's token custodian to end before its tokens go.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Db } from 'mongodb';
import { isLastLoginMethod } from '../../domain/login-methods.js';
import type { ProviderId } from '../../domain/providers.js';
import { accountsCollection } from '../accounts/store.js';
import { failure } from '../../domain/failures.js';

export interface DisconnectActivityDeps {
  db: Db;
  /** For the custodian's status; absent in processes that run no disconnects. */
  temporal?: Client;
  now?: () => Date;
}

export interface ClaimedConnection {
  connectionId: string;
  providerAccountId: string;
  directoryLinked: boolean;
}

export type DisconnectClaim =
  | { outcome: 'claimed'; subject: string; connections: ClaimedConnection[] }
  | { outcome: 'not_connected' }
  | { outcome: 'last_login_method' };

const maxWriteAttempts = 5;
/** How long a custodian gets to finish a refresh already under way before it is terminated. */
const defaultCustodyWaitMs = 60_000;

export function createDisconnectActivities({ db, temporal, now = () => new Date() }: DisconnectActivityDeps) {
  const accounts = accountsCollection(db);

  return {
    /**
     * Mark every connection of the provider `disconnected`, unless that would take away the account's last
     * way to sign in. Connections already marked (a retry, or an earlier run that stopped half-way) are
     * claimed again without the check, which they passed when they were marked.
     */
    async claimDisconnect(input: { accountId: string; provider: ProviderId }): Promise<DisconnectClaim> {
      for (let attempt = 0; attempt < maxWriteAttempts; attempt++) {
        const doc = await accounts.findOne({ _id: input.accountId });
        const nodes = doc?.connected_providers.nodes.filter((n) => n.provider === input.provider) ?? [];
        if (!doc || nodes.length === 0) return { outcome: 'not_connected' };
        const connections = nodes.map((n) => ({
          connectionId: n.connectionId,
          providerAccountId: n.providerAccountId,
          directoryLinked: n.directoryLinked === true,
        }));
        const claimed = { outcome: 'claimed' as const, subject: doc.rootIdentity.subject, connections };
        if (nodes.every((n) => n.status === 'disconnected')) return claimed;
        if (isLastLoginMethod(doc, input.provider)) return { outcome: 'last_login_method' };
        const written = await accounts.updateOne(
          { _id: input.accountId, revision: doc.revision },
          {
            $set: {
              connected_providers: {
                nodes: doc.connected_providers.nodes.map((n) =>
                  n.provider === input.provider ? { ...n, status: 'disconnected' as const } : n,
                ),
              },
              updatedAt: now().toISOString(),
              revision: doc.revision + 1,
            },
          },
        );
        if (written.modifiedCount === 1) return claimed;
      }
      throw failure('AccountWriteContention', `account ${input.accountId} kept changing; will retry`);
    },

    /**
     * Wait until the token custodian has ended (it was sent `stopCustody`), so no refresh can write tokens
     * after they are deleted. One still running after `waitMs` is terminated.
     */
    async awaitCustodyStopped(input: {
      workflowId: string;
      waitMs?: number;
    }): Promise<{ stopped: 'closed' | 'not_running' | 'terminated' }> {
      if (!temporal) throw failure('NotConfigured', 'this worker has no Temporal client for disconnects');
      const handle = temporal.workflow.getHandle(input.workflowId);
      const deadline = Date.now() + (input.waitMs ?? defaultCustodyWaitMs);
      for (;;) {
        let status: string;
        try {
          status = (await handle.describe()).status.name;
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return { stopped: 'not_running' };
          throw err;
        }
        if (status !== 'RUNNING') return { stopped: 'closed' };
        if (Date.now() >= deadline) {
          try {
            await handle.terminate('the connection was disconnected');
            return { stopped: 'terminated' };
          } catch (err) {
            if (err instanceof WorkflowNotFoundError) return { stopped: 'closed' };
            throw err;
          }
        }
        Context.current().heartbeat();
        // Rejects when the disconnect is cancelled (heard through the heartbeat): it then terminates nothing.
        await Context.current().sleep(250);
      }
    },
  };
}
