/** Roles an account can hold. Kept apart from the schemas so workflow code can import it cheaply. */
export const defaultRole = 'member';
