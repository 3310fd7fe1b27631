import { InvalidParameterError } from '../errors.js';

export const FIRST_EPHEMERAL_PORT = 49152;
export const PORT_SPACE = 65536 - FIRST_EPHEMERAL_PORT;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const IPV6 = /^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*$/;

export function checkAddress(address: unknown, name: string): string {
  if (typeof address !== 'string' || !(IPV4.test(address) || IPV6.test(address))) {
    throw new InvalidParameterError(
      name,
      `must be an IPv4 or IPv6 literal, got ${String(address)}`,
    );
  }
  return address;
}

export function checkPort(port: unknown, name: string): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InvalidParameterError(
      name,
      `must be an integer port in [0, 65535], got ${String(port)}`,
    );
  }
  return port;
}
