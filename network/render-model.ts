import type { WanNode } from './topology.js';

/** The shapes of a rendered overlay, shared by the WireGuard renderer and the routing daemon's renderer. */

/**
 * `down`: a hub's interface to its county platforms; `link`: a hub's point-to-point interface to
 * one router spoke; `up1`/`up2`: a spoke's uplinks; `dr`: a hub's link to its DR center; `site`: a
 * province DR node's link to the province hub it protects.
 */
export type IfaceRole = 'down' | 'link' | 'up1' | 'up2' | 'dr' | 'site';

export interface Route {
  readonly prefix: string;
  readonly metric: number;
}

export interface PeerPlan {
  readonly node: string;
  readonly endpoint?: string;
  readonly allowedIps: readonly string[];
  readonly keepalive?: number;
}

/** The kind of line a router link is, which sets its routing cost. */
export type LineKind = 'primary' | 'secondary' | 'pair';

/** A router link on a point-to-point interface: `ip addr add local/32 peer remote/32`, the routing daemon's neighbour at `remote`. */
export interface RouterLink {
  readonly local: string;
  readonly remote: string;
  readonly line: LineKind;
  /** The router at the other end. */
  readonly peer: string;
}

export interface IfacePlan {
  readonly role: IfaceRole;
  readonly name: string;
  readonly listenPort: number;
  readonly peers: readonly PeerPlan[];
  /** Static routes (county links); routers' links get theirs from the routing daemon. */
  readonly routes: readonly Route[];
  readonly link?: RouterLink;
}

export interface NodeConfig {
  readonly node: WanNode;
  readonly ifaces: readonly IfacePlan[];
  /** The node runs the routing daemon (every node but a county platform). */
  readonly router: boolean;
}

/** What a rendered file holds; `secret` files carry private keys and are written mode 0600. */
export interface RenderedFile {
  readonly name: string;
  readonly content: string;
  readonly secret?: boolean;
}
