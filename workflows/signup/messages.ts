/**
 * Signup wire protocol: the workflow's input and result, the details signal, the status query.
 * Never rename a message; add optional fields only.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { Consent } from '../../domain/account-center.js';

export interface SignupInput {
  /** The root identity's subject (Auth0 user id); the workflow id is `signup/<subject>`. */
  subject: string;
  /** `accountIdOf(subject)`: derived from the subject (or, after an erasure, its next id), so every caller agrees on it. */
  accountId: string;
  /** How long to wait for the first details signal (signal-with-start delivers it at once). */
  detailsWait?: Duration;
}

/** What one signup request knows about the person. Several requests (API, Auth0 hook) merge. */
export interface SignupDetails {
  source: 'api' | 'auth0-hook';
  /**
   * The address and names, sealed with the account's data key by the starter (`SignupPersonal`, context
   * `history:signup-personal`): the history holds no personal value in clear.
   */
  personal?: string;
  /** Whether the directory verified the address in `personal` (or in `email`). */
  emailVerified?: boolean;
  /** Sent in clear by starters before `personal` existed; still read, never sent now. */
  email?: string;
  /** Legacy, as `email`. */
  givenName?: string;
  /** Legacy, as `email`. */
  familyName?: string;
  consents: Consent[];
  /** Who asked: the subject for the API, the hook for Auth0. */
  requestedBy: string;
}

export const signupStages = [
  'waiting_for_details',
  'identity',
  'account',
  'role',
  'consents',
  'notice',
  'completed',
] as const;
export type SignupStage = (typeof signupStages)[number];

export interface SignupStatus {
  stage: SignupStage;
  accountId: string;
}

export interface SignupResult {
  accountId: string;
  /** False when the account existed before this run (a repeated signup). */
  created: boolean;
}

export const signupDetailsSignal = defineSignal<[SignupDetails]>('signupDetails');
export const signupStatusQuery = defineQuery<SignupStatus>('signupStatus');

/** The workflow type name, for clients that start it without importing workflow code. */
export const signupWorkflowType = 'signup';
export type SignupWorkflow = (input: SignupInput) => Promise<SignupResult>;
