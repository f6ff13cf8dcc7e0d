/**
 * Certificates made at test time with the `openssl` CLI, for the TLS tests: a CA, a server certificate for
 * the given names and a client certificate, all P-256 and valid a day, as PEM files in `dir`
 * (`ca.pem`/`ca.key`, `server.pem`/`server.key`, `client.pem`/`client.key`, and `client-bundle.pem`: the
 * client certificate and key in one file, as MongoDB's `tlsCertificateKeyFile` wants).
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** `subjectAltNames`: OpenSSL's form, e.g. `DNS:localhost,IP:127.0.0.1`. */
export async function makeTestCertificates(dir: string, subjectAltNames: string): Promise<void> {
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
    '-days',
    '1',
    '-subj',
    '/CN=CRA test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  for (const [name, ext] of [
    ['server', `subjectAltName=${subjectAltNames}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n`],
    ['client', 'extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n'],
  ] as const) {
    await writeFile(file(`${name}.ext`), ext);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      file(`${name}.key`),
      '-out',
      file(`${name}.csr`),
      '-subj',
      `/CN=cra-${name}`,
    ]);
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file(`${name}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file(`${name}.pem`),
      '-days',
      '1',
      '-extfile',
      file(`${name}.ext`),
    ]);
  }
  await writeFile(
    file('client-bundle.pem'),
    `${await readFile(file('client.pem'), 'utf8')}${await readFile(file('client.key'), 'utf8')}`,
  );
}
