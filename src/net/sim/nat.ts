import type { SocketAddress } from '../datagram-socket.js';
import { InvalidParameterError } from '../errors.js';
import type { Prng } from '../prng.js';
import { FIRST_EPHEMERAL_PORT, PORT_SPACE } from './addresses.js';
import type { SimSocket } from './sim-host.js';

/** A NAT in front of one host: endpoint-independent mapping and filtering (RFC 4787 "full cone"). */
export interface NatOptions {
  /** The address peers see; packets to it are translated to the host's sockets. */
  readonly publicAddress: string;
  /**
   * A mapping unused by outbound traffic this long is forgotten (RFC 4787 REQ-5 asks for at
   * least 2 minutes); `Infinity` keeps mappings forever.
   */
  readonly mappingTimeoutMs?: number;
}

class NatMapping {
  external: SocketAddress;
  lastUsed: number;

  constructor(
    readonly socket: SimSocket,
    external: SocketAddress,
    now: number,
  ) {
    this.external = external;
    this.lastUsed = now;
  }
}

/** The NAT in front of one host. */
export class Nat {
  publicAddress: string;
  readonly mappingTimeoutMs: number;
  private readonly bySocket = new Map<SimSocket, NatMapping>();
  private readonly byPort = new Map<number, NatMapping>();
  private nextPort: number;

  constructor(options: NatOptions, prng: Prng) {
    this.publicAddress = options.publicAddress;
    this.mappingTimeoutMs = options.mappingTimeoutMs ?? Number.POSITIVE_INFINITY;
    // Real NATs pick external ports unpredictably; a seeded start keeps that without losing replay.
    this.nextPort = FIRST_EPHEMERAL_PORT + prng.nextInt(PORT_SPACE);
  }

  /** The public source address of a datagram leaving `socket`, creating or refreshing its mapping. */
  outbound(socket: SimSocket, now: number): SocketAddress {
    let mapping = this.bySocket.get(socket);
    if (mapping !== undefined && now - mapping.lastUsed > this.mappingTimeoutMs) {
      this.forget(mapping);
      mapping = undefined;
    }
    if (mapping === undefined) {
      mapping = new NatMapping(socket, this.allocate(), now);
      this.bySocket.set(socket, mapping);
      this.byPort.set(mapping.external.port, mapping);
    }
    mapping.lastUsed = now;
    return mapping.external;
  }

  /** The socket a datagram to public `port` is for, if a live mapping exists. */
  inbound(port: number, now: number): SimSocket | undefined {
    const mapping = this.byPort.get(port);
    if (mapping === undefined) return undefined;
    if (now - mapping.lastUsed > this.mappingTimeoutMs || mapping.socket.dead) {
      this.forget(mapping);
      return undefined;
    }
    return mapping.socket;
  }

  /** Gives every mapping a new external port (and optionally address), as a NAT reboot does. */
  rebind(publicAddress: string): void {
    this.publicAddress = publicAddress;
    const mappings = [...this.bySocket.values()];
    this.byPort.clear();
    for (const mapping of mappings) {
      mapping.external = this.allocate();
      this.byPort.set(mapping.external.port, mapping);
    }
  }

  release(socket: SimSocket): void {
    const mapping = this.bySocket.get(socket);
    if (mapping !== undefined) this.forget(mapping);
  }

  private forget(mapping: NatMapping): void {
    this.bySocket.delete(mapping.socket);
    this.byPort.delete(mapping.external.port);
  }

  private allocate(): SocketAddress {
    for (let tries = 0; tries < PORT_SPACE; tries++) {
      const port = this.nextPort;
      this.nextPort = port + 1 >= 65536 ? FIRST_EPHEMERAL_PORT : port + 1;
      if (!this.byPort.has(port)) return Object.freeze({ host: this.publicAddress, port });
    }
    throw new InvalidParameterError('nat', `all ${PORT_SPACE} external ports are mapped`);
  }
}
