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

/** The pages links in notices open: erasure cancel, link undo, export download, recovery cancel. */
export const noticePagesText = {
  erasureCancel: {
    account: 'Account',
    requested: 'Erasure asked for',
    deletedAfter: 'Deleted after',
    confirmTitle: 'Keep your account?',
    confirmText: [
      'Someone signed in to the account below asked us to erase it, with everything we hold about it: connections, imported records, recovery methods, agents and exports.',
      'If you want to keep it, press the button. You need to be signed in to this account in this browser; you will be asked to sign in if you are not.',
    ],
    button: 'Keep my account',
    confirmNote: 'Opening this page changed nothing; only the button cancels the erasure.',
    doneTitle: 'Your account will not be erased',
    doneText: [
      'The erasure is cancelled. Nothing was deleted: your account, connections and records are as they were.',
      'If you did not ask for the erasure, change your password in your account center.',
    ],
    otherAccountTitle: 'This link is for another account',
    otherAccountText: (email: string) => [
      `You are signed in to a different account than ${email}, whose erasure this link cancels. Nothing was cancelled and nothing was changed.`,
      'Sign out, sign in to that account, and open the link again.',
    ],
    invalidTitle: 'This cancel link does not work',
    invalidText: (support: string) => [
      'Nothing was cancelled and nothing was changed. The link may be incomplete (some mail programs cut long links), or it was not made by us.',
      `Open the link again from the latest message about the erasure, copying the whole link, or cancel in your account center. If you need help, contact our support team at ${support}.`,
    ],
    usedTitle: 'This cancel link was used already',
    usedText: [
      'The erasure it belongs to was cancelled already (with this link or from the account center). Nothing more to do.',
    ],
    tooLateTitle: 'Too late to cancel: the grace period is over',
    tooLateText: (support: string) => [
      'The grace period of this erasure ended, so it can no longer be cancelled: the account is being erased, or is waiting for a legal hold to be released.',
      `If you did not ask for it, contact our support team at once at ${support}.`,
    ],
  },
  linkUndo: {
    invalidTitle: 'This undo link does not work',
    invalid:
      'The link is not valid: it may be incomplete. Open it again from the message we sent, or disconnect the provider from your account center.',
    expiredTitle: 'This undo link has expired',
    expired:
      'A connection can be undone from its message for 7 days. You can still disconnect the provider from your account center.',
    usedTitle: 'This connection was already undone',
    used: 'This undo link was used already. Nothing more was changed.',
    goneTitle: 'Nothing to undo',
    gone: (name: string) => `${name} is no longer connected to this account. Nothing was changed.`,
    confirmTitle: (name: string) => `Undo the connection of ${name}?`,
    confirm: (name: string) => [
      `${name} was connected to the account below. If that was not you, or you changed your mind, press the button.`,
      `${name} is then disconnected, CRA's access there is revoked where ${name} allows it, and the data imported from it is deleted. Nothing else in the account changes.`,
    ],
    button: (name: string) => `Disconnect ${name} and delete its data`,
    confirmNote: 'Opening this page changed nothing; only the button disconnects.',
    doneTitle: (name: string) => `${name} is being disconnected`,
    done: (name: string) => [
      `${name} is being disconnected and the data imported from it deleted. You get a message when it is done.`,
    ],
    refusedTitle: (name: string) => `${name} cannot be disconnected yet`,
    account: 'Account',
    provider: 'Provider',
    providerAccount: 'Connected as',
    connectedAt: 'Connected at',
    until: 'Undo possible until',
  },
  exportDownload: {
    home: 'Back to your account center',
    invalidTitle: 'This download link does not work',
    invalidText: [
      'Nothing was downloaded. The link may be incomplete (some mail and chat programs cut long links), or it was changed, or it was not made by us.',
      'Copy the whole link again from where you found it, or ask for your export’s link again.',
    ],
    expiredTitle: 'This download link has expired',
    expiredText: (ttl: string) => [
      `Nothing was downloaded. An export’s link works for ${ttl} after its archive is ready; then the archive is deleted, and the link with it.`,
      'Ask for a new export: it is built again from what we hold about you now, with a new link.',
    ],
    signInTitle: 'Sign in to download your export',
    signInText: [
      'This link downloads an export only for the person it was made for, signed in: the link alone opens nothing, so nothing was downloaded.',
      'Sign in to your account center in this browser, and the download starts.',
    ],
    signIn: 'Sign in and download',
    otherAccountTitle: 'This download is not for your account',
    otherAccountText: [
      'The account you are signed in to in this browser has no such export. Nothing was downloaded.',
      'If the export is yours, sign out, sign in to the account that asked for it, and open the link again.',
    ],
    notReadyTitle: 'Your export is not ready yet',
    notReadyText: ['Its archive is still being built. Open the link again in a few minutes.'],
  },
  recoveryCancel: {
    account: 'Account',
    started: 'Recovery asked for',
    stage: 'Where it stands',
    stages: {
      verifying: () => 'Checking proof of identity: not enough proof has been given yet.',
      cooling: (ends: string) => `Waiting period: enough proof was given. Nothing changes before ${ends}.`,
      awaiting_approval: () => 'Waiting for a person on our support team to approve it (the waiting period is over).',
    },
    ifNothing: 'If you do nothing',
    ifNothingText: (ends: string | null) =>
      `${ends ? `After ${ends}, once` : 'Once'} a person on our support team approves it, the password and sign-in methods of this account are reset and whoever asked can choose a new password.`,
    confirmTitle: 'Cancel the recovery of your account?',
    confirmText: [
      'Someone asked to recover the account below: to reset its password and sign-in methods so they can sign in without them.',
      'If that was you, you can close this page. If it was not you, press the button: the recovery stops at once and nothing about your account changes.',
    ],
    button: 'Cancel this recovery',
    confirmNote: 'Opening this page changed nothing; only the button cancels.',
    doneTitle: 'The recovery is cancelled',
    doneText: (email: string) => [
      `The recovery of ${email} is cancelled. Nothing about your account was changed, and the person who asked cannot continue it.`,
    ],
    nextSteps: (support: string) => [
      'Someone knew enough to start it. To keep them out: sign in to your account center, change your password, and check your connected providers and recovery methods — remove any you do not recognise, and make new backup codes.',
      `If you cannot sign in, or you see another recovery notice, contact our support team at ${support}.`,
    ],
    invalidTitle: 'This cancel link does not work',
    invalidText: (support: string) => [
      'Nothing was cancelled and nothing was changed. The link may be incomplete (some mail programs cut long links), or it was not made by us.',
      `Open the link again from the latest message about the recovery, copying the whole link. If you think someone is recovering your account, contact our support team at ${support}.`,
    ],
    alreadyCancelledTitle: 'This recovery is already cancelled',
    alreadyCancelledText: (email: string) => [
      `The recovery of ${email} was cancelled already. Nothing about your account was changed by it.`,
    ],
    completedTitle: 'Too late to cancel: this recovery is complete',
    completedText: (email: string, support: string) => [
      `The recovery of ${email} was completed: its password and sign-in methods were reset.`,
      `If you did not ask for it, contact our support team at once at ${support}.`,
    ],
    resettingTitle: 'Too late to cancel: the reset has begun',
    resettingText: (email: string, support: string) => [
      `The waiting period is over and our support team approved the recovery of ${email}; its sign-in methods are being reset now.`,
      `If you did not ask for it, contact our support team at once at ${support}.`,
    ],
    deniedTitle: 'Nothing to cancel: this recovery was refused',
    deniedText: (email: string) => [
      `Our support team refused the recovery of ${email}. Nothing about your account was changed.`,
    ],
    expiredTitle: 'Nothing to cancel: this recovery expired',
    expiredText: (email: string) => [
      `The recovery of ${email} was not completed in time and has ended. Nothing about your account was changed.`,
    ],
  },
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
