/**
 * How several signup requests' details merge (the API and the Auth0 hook may both sign a person up): the
 * first value of each field wins, and the address counts as verified only when a request that verified it
 * named that same address.
 */
export interface SignupFields {
  email?: string;
  emailVerified?: boolean;
  givenName?: string;
  familyName?: string;
}

export interface MergedSignupFields {
  email?: string;
  emailVerified: boolean;
  givenName?: string;
  familyName?: string;
}

/** Fold `next` into `into`, in arrival order. */
export function mergeSignupFields(into: MergedSignupFields, next: readonly SignupFields[]): MergedSignupFields {
  for (const d of next) {
    into.email ??= d.email;
    into.emailVerified ||= d.emailVerified === true && d.email === into.email;
    into.givenName ??= d.givenName;
    into.familyName ??= d.familyName;
  }
  return into;
}
