/**
 * Every word the pages show, in one place: one catalog to review, and one file to translate. Sections
 * follow the pages: the frame, sign-in, the account center's pages, security, the support console.
 */

/** The frame every page shares: brand, menus, skip link. */
export const layoutText = {
  accountBrand: 'CRA account center',
  consoleBrand: 'CRA support console',
  skipToContent: 'Skip to content',
  signedInAs: (who: string) => `Signed in as ${who}`,
  accountMenu: 'Account center',
  consoleMenu: 'Support console',
  nav: {
    overview: 'Overview',
    profile: 'Profile',
    providers: 'Connected providers',
    data: 'Imported data',
    security: 'Security',
    activity: 'Activity',
    privacy: 'Privacy',
    processes: 'Processes',
    queue: 'Queue',
    accounts: 'Accounts',
  },
  forbiddenTitle: 'You cannot open this page',
  forbiddenText: (permission: string) =>
    `This page needs the "${permission}" permission, which your sign-in does not hold. Ask a support lead to grant you the role, then sign in again.`,
  notFoundTitle: 'There is no such page',
  notFoundText: 'The address may be mistyped, or what it showed no longer exists.',
} as const;

export const signInText = {
  signInTitle: 'Sign in',
  email: 'Email address',
  password: 'Password',
  newPassword: 'Choose a password',
  passwordHelp: 'At least 10 characters. A few unrelated words make a strong password that is easy to remember.',
  signInButton: 'Sign in',
  passkeyHeading: 'Or use a passkey',
  passkeyHelp: 'If you added a passkey to your account, sign in with it instead of a password.',
  passkeyButton: 'Sign in with a passkey',
  newHereHeading: 'New here?',
  createAccountLink: 'Create an account',
  haveAccountLink: 'I already have an account: sign in',
  signUpTitle: 'Create your account',
  givenName: 'First name',
  familyName: 'Last name',
  acceptTerms: 'I accept the terms of service and the privacy notice.',
  signUpButton: 'Create account',
  wrongCredentials: 'That email address and password do not match an account. Check them and try again.',
  lockedOut: (minutes: number) =>
    `Too many failed attempts for this email address. Try again in ${minutes} minute${minutes === 1 ? '' : 's'}.`,
  unverified: 'Confirm your email address first: we sent you a link. We have just sent a new one.',
  resetRequired: 'Your password was reset during an account recovery. Choose a new one to sign in.',
  checkEmailTitle: 'Check your email',
  checkEmailText: (email: string) => [
    `We sent a message to ${email}. Open the link in it to confirm your address, then sign in.`,
    'If you already have an account with this address, the message says so instead.',
  ],
  confirmEmailTitle: 'Confirm your email address',
  confirmEmailText: (email: string) => `Confirm that ${email} is your address. You can then sign in.`,
  confirmEmailButton: 'Confirm my address',
  emailConfirmedTitle: 'Email address confirmed',
  emailConfirmedText: 'Thank you. You can sign in now.',
  linkInvalidTitle: 'This link does not work',
  linkInvalidText: 'The link is not valid: it may be incomplete, or already used. Sign in to get a new one.',
  linkExpiredText: 'The link has expired. Sign in to get a new one.',
  signInLink: 'Sign in',
  backToAccount: 'Back to your account center',
  signOutTitle: 'Sign out',
  signOutText: 'You are signed out of the account center. Do you also want to sign out of CRA sign-in on this browser?',
  signOutEverywhereButton: 'Yes, sign me out',
  signOutHereButton: 'No, keep me signed in to CRA sign-in',
  signedOutTitle: 'You are signed out',
  signedOutText: 'You have signed out of your account center.',
  issuerErrorTitle: 'Sign-in could not continue',
  issuerErrorHelp: 'Start again from your account center.',
  sessionExpired: 'Your sign-in took too long or was started in another browser. Start again.',
  signInFailedTitle: 'Sign-in did not complete',
  badForm: 'Fill in every field.',
  nameProblem: 'Enter your first and last name as you write them (no control or invisible characters).',
  emailProblem: 'Enter a valid email address.',
  termsProblem: 'Accept the terms to create an account.',
  resetTitle: 'Choose a new password',
  resetText: 'Your account was recovered. Choose a new password; every other sign-in of your account has been ended.',
  resetButton: 'Save the new password',
  resetDoneTitle: 'Your new password is saved',
  resetDoneText: 'Sign in with it now.',
} as const;

export const accountText = {
  homeTitle: 'Your account center',
  signedInAs: (who: string) => `Signed in as ${who}`,
  creatingAccount: 'Your account center is being set up. Refresh this page in a moment.',
  providersHeading: 'Connected providers',
  connectButton: (name: string) => `Connect ${name}`,
  connected: 'Connected',
  sessionsHeading: 'Where you are signed in',
  thisBrowser: 'This browser',
  signOutButton: 'Sign out',
  signOutOneButton: 'Sign out this session',
  signOutAllButton: 'Sign out everywhere',
  csrfProblemTitle: 'This form has expired',
  csrfProblemText:
    'The page you sent it from is too old or came from another site. Go back, reload the page and try again.',
} as const;

// ---------------------------------------------------------------------------------------------------
// The account center's pages: profile, connected providers, imported data, processes.

export const accountPagesText = {} as const;

// ---------------------------------------------------------------------------------------------------
// The account center's security, activity and privacy pages.

export const securityText = {} as const;

// ---------------------------------------------------------------------------------------------------
// The support console.

export const consoleText = {} as const;
