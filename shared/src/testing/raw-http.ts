import net from 'node:net';

/** One raw HTTP/1.1 exchange: `head` and then `chunks` written as they are; the first response, parsed. */
export async function rawExchange(
  port: number,
  head: string,
  chunks: string[],
): Promise<{ status: number; headers: Record<string, string>; body: any }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  const done = new Promise<string>((resolve) => {
    socket.on('data', (d) => {
      received += d.toString('utf8');
      const end = received.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(received.slice(0, end))?.[1] ?? NaN);
      if (received.length >= end + 4 + length) resolve(received);
    });
    socket.on('close', () => resolve(received));
    socket.on('error', () => resolve(received));
  });
  socket.write(head);
  for (const chunk of chunks) socket.write(chunk);
  const text = await done;
  socket.destroy();
  const end = text.indexOf('\r\n\r\n');
  const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
  const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const body = text.slice(end + 4);
  return { status: Number(statusLine!.split(' ')[1]), headers, body: body ? JSON.parse(body) : undefined };
}
