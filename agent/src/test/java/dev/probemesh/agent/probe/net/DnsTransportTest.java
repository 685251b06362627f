package dev.probemesh.agent.probe.net;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.probemesh.agent.testing.TestDnsServer;
import dev.probemesh.common.failure.FailureCode;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

@Timeout(20)
class DnsTransportTest {
    private ScheduledExecutorService scheduler;
    private ExecutorService callbacks;
    private TestDnsServer dns;

    @BeforeEach
    void start() {
        scheduler = Executors.newSingleThreadScheduledExecutor();
        callbacks = Executors.newFixedThreadPool(1);
        dns = TestDnsServer.start().a("origin.example.test", "203.0.113.10");
    }

    @AfterEach
    void stop() {
        dns.close();
        callbacks.shutdownNow();
        scheduler.shutdownNow();
    }

    private static Message query() throws Exception {
        return Message.newQuery(Record.newRecord(Name.fromString("origin.example.test."), Type.A, DClass.IN));
    }

    private static DnsTransport.Outcome send(DnsTransport t, TestDnsServer dns, DnsTransport.Protocol p) throws Exception {
        return t.query(dns.address(), query(), p, System.nanoTime() + TimeUnit.SECONDS.toNanos(2), true)
                .get(5, TimeUnit.SECONDS);
    }

    @Test
    void closesIdleUdpSocketsAndOpensFreshOnesWhenNeeded() throws Exception {
        try (DnsTransport t = new DnsTransport(scheduler, callbacks, Duration.ofMillis(200))) {
            assertThat(send(t, dns, DnsTransport.Protocol.UDP)).isInstanceOf(DnsTransport.Answered.class);
            assertThat(t.openUdpSockets()).isEqualTo(4);

            await().atMost(Duration.ofSeconds(5)).until(() -> t.openUdpSockets() == 0);

            assertThat(send(t, dns, DnsTransport.Protocol.UDP)).isInstanceOf(DnsTransport.Answered.class);
            assertThat(t.openUdpSockets()).isEqualTo(4);
        }
    }

    @Test
    void reportsTheTcpConnectTime() throws Exception {
        try (DnsTransport t = new DnsTransport(scheduler, callbacks)) {
            DnsTransport.Outcome o = send(t, dns, DnsTransport.Protocol.TCP);

            assertThat(o).isInstanceOf(DnsTransport.Answered.class);
            assertThat(((DnsTransport.Answered) o).connectNanos()).isPositive();
        }
    }

    @Test
    void completesPendingQueriesWhenClosed() throws Exception {
        dns.silentAll(true);
        DnsTransport t = new DnsTransport(scheduler, callbacks);
        var pending = t.query(dns.address(), query(), DnsTransport.Protocol.UDP,
                System.nanoTime() + TimeUnit.SECONDS.toNanos(30), true);

        t.close();

        DnsTransport.Outcome o = pending.get(5, TimeUnit.SECONDS);
        assertThat(o).isInstanceOf(DnsTransport.Failed.class);
        assertThat(((DnsTransport.Failed) o).code()).isEqualTo(FailureCode.INTERNAL);
    }
}
