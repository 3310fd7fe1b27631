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
export {
  Eid,
  EID_TEXT_LENGTH,
  InvalidEidError,
  type InvalidEidReason,
  isEid,
} from './crypto/eid.js';
export { Identity } from './crypto/identity.js';
export {
  IdentityFileError,
  type IdentityFileErrorReason,
  loadIdentity,
  loadOrCreateIdentity,
  saveIdentity,
} from './crypto/identity-file.js';
export {
  createNativeSuite,
  nativeAeadBackend,
  type NativeSuiteOptions,
} from './crypto/native-suite.js';
export { createNobleSuite } from './crypto/noble-suite.js';
export type { CryptoSuite, HashName, KeyPair } from './crypto/suite.js';
export {
  CipherState,
  HandshakeState,
  type HandshakeOptions,
  NoiseError,
  type NoiseErrorCode,
  parseProtocolName,
  StaticDhCache,
  type TransportKeys,
} from './crypto/noise/index.js';
export {
  type ConnectOptions,
  HandshakeEndpoint,
  type HandshakeEndpointOptions,
} from './channel/handshake/endpoint.js';
export {
  HandshakeInitiator,
  type InitiatorOutcome,
  type InitiatorStats,
  timestampSource,
} from './channel/handshake/initiator.js';
export {
  type AcceptDecision,
  type ConnectRequest,
  HandshakeResponder,
  type ResponderSession,
  type ResponderStats,
} from './channel/handshake/responder.js';
export {
  HANDSHAKE_PROTOCOL,
  type HandshakeResult,
  type RejectReason,
} from './channel/handshake/result.js';
export { Channel, type ChannelOptions } from './channel/channel.js';
export {
  type ChannelCloseReason,
  ChannelCore,
  type ChannelCoreOptions,
  type ChannelStats,
  type FrameSource,
  type LinkState,
} from './channel/channel-core.js';
export { ChannelErrorCode } from './channel/frames.js';
export {
  ChannelHost,
  type ChannelHostOptions,
  type ChannelHostStats,
  ConnectError,
  type HostChannelOptions,
} from './channel/channel-host.js';
export { type ChannelPath, PathSet } from './channel/paths.js';
export { defaultPmtuCeiling, PmtuSearch, type PmtuState } from './channel/pmtu.js';
export { KeyPhases } from './channel/key-phase.js';
export { type ChannelConnectOptions } from './channel/channel-host.js';
export { type SocketPath, socketPath } from './channel/channel.js';
export { type ChannelCoreEvent } from './channel/channel-core.js';
export {
  Host,
  HostClosedError,
  type HostConnectOptions,
  type HostOptions,
  Server,
} from './host.js';
export { Stream, type StreamContext, type StreamReset } from './streams/stream.js';
export { ServiceNotFoundError, StreamClosedError, StreamResetError } from './streams/errors.js';
export { type ListenMode, StreamErrorCode } from './streams/stream-state.js';
export {
  DEFAULT_MAX_INCOMING_STREAMS,
  INITIAL_STREAM_WINDOW,
  type StreamSessionStats,
} from './streams/stream-session.js';
export { toDuplex } from './streams/node-duplex.js';
export {
  DEFAULT_READABLE_HIGH_WATER_MARK,
  DEFAULT_SEND_HIGH_WATER_MARK,
  toReadableStream,
  toWritableStream,
} from './streams/web-streams.js';
export {
  chunks,
  DEFAULT_MAX_RECORD_SIZE,
  RecordTooLargeError,
  records,
} from './streams/async-iteration.js';
