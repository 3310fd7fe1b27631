/**
 * Structured Secure Streams: the public surface. The simulator is its own entry point,
 * `structured-secure-streams/sim`.
 * @packageDocumentation
 */
export {
  type Clock,
  RealClock,
  type TimerHandle,
  toXStateClock,
  type XStateClock,
} from './net/clock.js';
export {
  type DatagramSocket,
  formatAddress,
  MAX_UDP_PAYLOAD_IPV4,
  MAX_UDP_PAYLOAD_IPV6,
  type ReceiveHandler,
  type SocketAddress,
} from './net/datagram-socket.js';
export {
  DatagramTooLargeError,
  InvalidParameterError,
  SocketBindError,
  SocketClosedError,
  SssError,
} from './net/errors.js';
export { Prng, type PrngState } from './net/prng.js';
export { cryptoRandom, type RandomSource, seededRandom } from './net/random.js';
export { type UdpBindOptions, UdpSocket, type UdpSocketStats } from './net/udp.js';
