package dev.probemesh.agent.probe.net;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.concurrent.TimeUnit;

/** Child process for {@link NetnsLab}: accepts and closes TCP connections on the given ports (v4 and v6 on one dual-stack socket) for at most 5 minutes. */
public final class NsListenMain {
    private NsListenMain() {
    }

    public static void main(String[] args) throws IOException {
        try (Selector sel = Selector.open()) {
            for (String a : args) {
                int port = Integer.parseInt(a);
                // "::" without V6ONLY takes IPv4 too (as v4-mapped), so one socket serves both families.
                ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.INET6);
                s.bind(new InetSocketAddress("::", port));
                s.configureBlocking(false);
                s.register(sel, SelectionKey.OP_ACCEPT);
            }
            System.out.println("LISTENING");
            System.out.flush();
            long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (System.nanoTime() < until) {
                sel.select(1000);
                for (SelectionKey k : sel.selectedKeys()) {
                    SocketChannel c = ((ServerSocketChannel) k.channel()).accept();
                    if (c != null) {
                        c.close();
                    }
                }
                sel.selectedKeys().clear();
            }
        }
    }
}
