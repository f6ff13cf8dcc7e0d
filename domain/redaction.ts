/**
 * Log fields that may hold a secret. Every pino logger in CRA redacts these paths, so a token, a code
 * or a header never reaches a log line even when a whole object is logged.
 */
export const redactedLogPaths = [
  'token', 'accessToken', 'refreshToken', 'idToken', 'access_token', 'refresh_token', 'id_token',
  'secret', 'clientSecret', 'client_secret', 'password', 'code', 'codeVerifier', 'code_verifier',
  'authorization', 'Authorization', 'cookie', 'signature', 'taskToken',
  '*.token', '*.accessToken', '*.refreshToken', '*.idToken', '*.access_token', '*.refresh_token', '*.id_token',
  '*.secret', '*.clientSecret', '*.client_secret', '*.password', '*.code', '*.codeVerifier', '*.code_verifier',
  '*.authorization', '*.Authorization', '*.cookie', '*.signature',
  'req.headers.authorization', 'req.headers.cookie', 'req.headers["cra-signature"]', 'headers.authorization', 'headers["cra-signature"]',
];
