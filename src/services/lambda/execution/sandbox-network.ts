/**
 * How an environment's container and Stratus reach each other, per container driver.
 *
 *  runc    Containers reach the host at the bridge's gateway (10.213.0.1). Each Runtime
 *          API listens on 127.0.0.1 and its port is DNATed from the gateway by the driver's
 *          nftables table, which keeps the container's address as the source: the
 *          listener serves that address only. Stratus's endpoint is DNATed the same way.
 *  docker  Containers reach the host at the `stratus` network's gateway address. Docker
 *          gives us no DNAT of our own, so each Runtime API listens on that address itself
 *          (the source is the container's address, as with runc); Stratus's endpoint is
 *          forwarded there by the driver (DockerDriver.exposeHostPort).
 */
import type { DockerDriver } from '../../../runtime/docker/driver.js';
import { exposeHostPort, GATEWAY, unexposeHostPort } from '../../../runtime/runc/network.js';

export interface SandboxNetwork {
  /** The address containers reach the host (Stratus, Runtime APIs) at. */
  gateway(): Promise<string>;
  /** Where an environment's Runtime API listens on the host. */
  listenHost(): Promise<string>;
  /** Makes a Runtime API port reachable from containers at the gateway. */
  expose(port: number): Promise<void>;
  /** Withdraws `expose` (also for a crash's leftovers, by port). */
  unexpose(port: number): Promise<void>;
}

export function runcSandboxNetwork(): SandboxNetwork {
  return {
    gateway: () => Promise.resolve(GATEWAY),
    listenHost: () => Promise.resolve('127.0.0.1'),
    expose: (port) => exposeHostPort(port),
    unexpose: (port) => unexposeHostPort(port),
  };
}

export function dockerSandboxNetwork(driver: DockerDriver): SandboxNetwork {
  return {
    gateway: () => driver.gatewayAddress(),
    listenHost: () => driver.gatewayAddress(),
    expose: () => Promise.resolve(),
    unexpose: () => Promise.resolve(),
  };
}
