/**
 * The failure converter of every CRA worker, client and workflow bundle: a failure's message and stack trace
 * travel as an encoded payload (`encodeCommonAttributes`), so the payload codec encrypts them like any other
 * payload. Error messages can name what a step was working on; in history an operator sees "Encoded failure"
 * until Temporal Web decodes it through the codec endpoint.
 *
 * Loaded by path (`failureConverterPath`): the workflow bundle includes it and the worker `require`s it.
 */
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
