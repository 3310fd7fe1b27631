import { InvalidParameterError } from '../../src/net/errors.js';

/**
 * The `parameter` an {@link InvalidParameterError} thrown by `fn` names, or undefined when `fn`
 * returns; any other error propagates so that a wrong error type fails the test.
 */
export function parameterOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (error instanceof InvalidParameterError) return error.parameter;
    throw error;
  }
  return undefined;
}
