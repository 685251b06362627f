package dev.probemesh.agent.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A loopback TCP server that misbehaves on purpose, for the failures a well-behaved server never
 * shows: it accepts and stays silent, closes right after accept, or answers plain HTTP to whatever
 * arrives (a TLS ClientHello included). Accepts at most 32 connections; sockets are closed by
 * {@link #close()}.
 */
public final class TestTlsRawServer implements AutoCloseable {

    /** How the server treats each accepted connection. */
    public enum Mode { SILENT, CLOSE_AFTER_ACCEPT, PLAIN_HTTP }

    private final ServerSocket socket;
    private final Mode mode;
    private final List<Socket> accepted = new CopyOnWriteArrayList<>();
    private final Thread thread;

    public TestTlsRawServer(InetAddress bind, Mode mode) throws IOException {
        this.socket = new ServerSocket();
        socket.bind(new InetSocketAddress(bind, 0), 16);
        this.mode = mode;
        this.thread = new Thread(this::serve, "test-raw-server");
        thread.setDaemon(true);
        thread.start();
    }

    public int port() {
        return socket.getLocalPort();
    }

    private void serve() {
        for (int i = 0; i < 32 && !socket.isClosed(); i++) {
            try {
                Socket s = socket.accept();
                accepted.add(s);
                switch (mode) {
                    case SILENT -> { }
                    case CLOSE_AFTER_ACCEPT -> s.close();
                    case PLAIN_HTTP -> {
                        InputStream in = s.getInputStream();
                        in.read(new byte[4096]);
                        OutputStream out = s.getOutputStream();
                        out.write(("HTTP/1.1 400 Bad Request\r\nContent-Length: 11\r\nConnection: close\r\n\r\nbad request")
                                .getBytes(StandardCharsets.US_ASCII));
                        out.flush();
                        s.close();
                    }
                }
            } catch (IOException e) {
                return;
            }
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
        for (Socket s : accepted) {
            s.close();
        }
    }
}
