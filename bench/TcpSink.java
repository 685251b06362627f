import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;

/**
 * The benchmark's TCP target: accepts on 127.0.0.1:PORT and closes every connection at once, so
 * a connect probe measures the probe, not the server. Run: {@code java bench/TcpSink.java PORT}.
 * Stops when killed (bench/run's trap does that).
 */
public final class TcpSink {
    public static void main(String[] args) throws IOException {
        int port = Integer.parseInt(args[0]);
        try (ServerSocketChannel server = ServerSocketChannel.open()) {
            server.setOption(StandardSocketOptions.SO_REUSEADDR, true);
            // A deep backlog: hundreds of probes connect at once.
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 4096);
            System.out.println("tcp sink listening on 127.0.0.1:" + port);
            while (true) {
                SocketChannel c = server.accept();
                // An orderly close (FIN), not an RST: a reset right after the handshake races the
                // prober's own post-connect checks. TIME_WAIT stays on this side (the closer), so
                // the probers' ephemeral ports do not run out.
                c.close();
            }
        }
    }
}
