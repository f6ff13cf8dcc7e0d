/**
 * Token custody wire protocol: one long-running workflow per connection keeps its access token fresh.
 * Messages carry versions and expiry times, never tokens.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ProviderId } from '../../domain/providers.js';

export interface TokenCustodyInput {
  accountId: string;
  provider: ProviderId;
  connectionId: string;
  /** When the current access token expires (absent: it does not). */
  accessTokenExpiresAt?: string;
  /** Refresh this long before expiry. */
  refreshMargin: Duration;
  /** Carried across continue-as-new. */
  refreshCount?: number;
  tokenVersion?: number;
}

export interface FreshToken {
  connectionId: string;
  /** Read `provider_tokens` at this version or later. */
  tokenVersion: number;
  accessTokenExpiresAt?: string;
}

export interface CustodyResult {
  status: 'stopped' | 'reauth_required';
  refreshCount: number;
}

export interface CustodyState {
  connectionId: string;
  status: 'active' | 'refreshing' | 'reauth_required' | 'stopped';
  accessTokenExpiresAt?: string;
  tokenVersion: number;
  refreshCount: number;
  lastRefreshAt?: string;
}

export const tokenCustodyWorkflowType = 'tokenCustody';
export type TokenCustodyWorkflow = (input: TokenCustodyInput) => Promise<CustodyResult>;

/** New tokens for the connection (a relink): custody continues from them. */
export const tokensReplacedSignal =
  defineSignal<[{ connectionId: string; accessTokenExpiresAt?: string; tokenVersion: number }]>('tokensReplaced');
/** Stop custody (disconnect). */
export const stopCustodySignal = defineSignal<[{ reason: string }]>('stopCustody');
/** Get a token valid for at least `minValiditySeconds`, refreshing first if needed: the only way activities get one. */
export const freshTokenUpdate = defineUpdate<FreshToken, [{ minValiditySeconds?: number }]>('freshToken');
export const custodyStateQuery = defineQuery<CustodyState>('custodyState');
