import net from 'node:net';

/**
 * A TCP proxy in front of PostgreSQL that counts the rows the server has sent (its DataRow
 * messages), for tests that must know how far a cursor has been read: a service whose database
 * URL is `tap.url` has fetched `tap.rows()` rows so far, whatever its code and libraries do with
 * them. Plain TCP only (the test databases do not speak TLS); it forwards both ways untouched and
 * with backpressure, so it changes nothing the service sees.
 */
export interface PgRowTap {
  /** `databaseUrl` with the host and port of the tap. */
  url: string;
  /** DataRow messages the server has sent through the tap, over every connection. */
  rows: () => number;
  /** Closes the tap and every connection through it. */
  close: () => Promise<void>;
}

/** Server messages are a type byte and a 4-byte length that counts itself, then the body. */
const HEADER_BYTES = 5;
const DATA_ROW = 0x44; // 'D'

/** Counts DataRow messages in one connection's server-to-client bytes, chunk by chunk. */
function dataRowCounter(onRow: () => void): (chunk: Buffer) => void {
  let header = Buffer.alloc(0);
  let bodyLeft = 0;
  return (chunk) => {
    let at = 0;
    while (at < chunk.length) {
      if (bodyLeft > 0) {
        const skipped = Math.min(bodyLeft, chunk.length - at);
        bodyLeft -= skipped;
        at += skipped;
        continue;
      }
      const taken = Math.min(HEADER_BYTES - header.length, chunk.length - at);
      header = Buffer.concat([header, chunk.subarray(at, at + taken)]);
      at += taken;
      if (header.length === HEADER_BYTES) {
        if (header[0] === DATA_ROW) onRow();
        bodyLeft = header.readInt32BE(1) - 4;
        header = Buffer.alloc(0);
      }
    }
  };
}

export async function startPgRowTap(databaseUrl: string): Promise<PgRowTap> {
  const target = new URL(databaseUrl);
  let rows = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port || 5432), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      // One side gone ends the other: the service sees what it would see without the tap.
      socket.on('error', () => (socket === client ? upstream : client).destroy());
    }
    upstream.on(
      'data',
      dataRowCounter(() => rows++),
    );
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(databaseUrl);
  url.hostname = '127.0.0.1';
  url.port = String((server.address() as net.AddressInfo).port);
  return {
    url: url.toString(),
    rows: () => rows,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
