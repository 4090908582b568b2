/**
 * Open WebSocket connections, and the `webSocketConnections` link the `@connections`
 * management API (apigatewaymanagementapi) works through: PostToConnection,
 * GetConnection, DeleteConnection. A connection that is gone is AWS's GoneException.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
 */

export interface Connection {
  id: string;
  account: string;
  region: string;
  apiId: string;
  stage: string;
  connectedAt: number;
  lastActiveAt: number;
  sourceIp: string;
  userAgent: string;
  domainName: string;
  /** What the `$connect` authorizer returned, in every event of the connection. */
  authorizer?: Record<string, unknown>;
}

interface Socket {
  send(data: Buffer): Promise<void>;
  close(): void;
}

/** The link: what the management API may do with a connection of the caller's account. */
export interface WebSocketConnections {
  /** False when the connection is gone (or not the account's). */
  post(account: string, connectionId: string, data: Buffer): Promise<boolean>;
  get(account: string, connectionId: string): Connection | undefined;
  /** False when the connection is gone. */
  delete(account: string, connectionId: string): boolean;
}

export class Connections implements WebSocketConnections {
  private readonly open = new Map<string, { conn: Connection; socket: Socket }>();

  add(conn: Connection, socket: Socket): void {
    this.open.set(conn.id, { conn, socket });
  }

  remove(id: string): void {
    this.open.delete(id);
  }

  async post(account: string, id: string, data: Buffer): Promise<boolean> {
    const entry = this.find(account, id);
    if (!entry) return false;
    try {
      await entry.socket.send(data);
      return true;
    } catch {
      return false;
    }
  }

  get(account: string, id: string): Connection | undefined {
    return this.find(account, id)?.conn;
  }

  delete(account: string, id: string): boolean {
    const entry = this.find(account, id);
    if (!entry) return false;
    this.open.delete(id);
    entry.socket.close();
    return true;
  }

  private find(account: string, id: string) {
    const entry = this.open.get(id);
    return entry && entry.conn.account === account ? entry : undefined;
  }
}
