package dev.probemesh.cli.context;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import dev.probemesh.common.tls.FilePermissions;
import dev.probemesh.common.tls.KeyMaterial;
import dev.probemesh.common.tls.Pem;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The CLI's contexts, kubeconfig-style: {@code $PROBEMESH_CONFIG} or
 * {@code ~/.config/probemesh/config.yaml} (directory 0700, file 0600), each context naming a
 * coordinator and the admin credential files to reach it with, plus the current context.
 */
public final class ContextStore {
    public static final String ENV = "PROBEMESH_CONFIG";

    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory())
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    private final Path file;

    public ContextStore(Path file) {
        this.file = Objects.requireNonNull(file, "file").toAbsolutePath();
    }

    /** The store at $PROBEMESH_CONFIG, else ~/.config/probemesh/config.yaml. */
    public static ContextStore atDefaultLocation() {
        return new ContextStore(defaultPath(System.getenv(), Path.of(System.getProperty("user.home"))));
    }

    public static Path defaultPath(Map<String, String> env, Path home) {
        String explicit = env.get(ENV);
        if (explicit != null && !explicit.isBlank()) {
            return Path.of(explicit);
        }
        return home.resolve(".config").resolve("probemesh").resolve("config.yaml");
    }

    public Path file() {
        return file;
    }

    /** Where copied credentials live: next to the config file. */
    public Path directory() {
        return file.getParent();
    }

    /**
     * One coordinator and how to authenticate to it. Paths are absolute; {@code insecure} means
     * plaintext without credentials (only for a coordinator started with --insecure).
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Context(
            @JsonProperty("name") String name,
            @JsonProperty("coordinator") String coordinator,
            @JsonProperty("insecure") boolean insecure,
            @JsonProperty("ca") String caFile,
            @JsonProperty("cert") String certFile,
            @JsonProperty("key") String keyFile) {
        public Context {
            if (name == null || !name.matches("[A-Za-z0-9][A-Za-z0-9._-]{0,62}")) {
                throw new IllegalArgumentException("context name '" + name + "' is invalid: use [A-Za-z0-9._-], up to 63");
            }
            if (coordinator == null || coordinator.isBlank()) {
                throw new IllegalArgumentException("context " + name + " has no coordinator address (host:port)");
            }
            if (!insecure && (caFile == null || certFile == null || keyFile == null)) {
                throw new IllegalArgumentException("context " + name
                        + " needs ca, cert and key files (or insecure: true for a --insecure coordinator)");
            }
        }

        /** The same context against another address (the CLI's --coordinator override). */
        public Context withCoordinator(String address) {
            return new Context(name, address, insecure, caFile, certFile, keyFile);
        }

        /**
         * A channel to the coordinator: mTLS with the admin certificate, trusting only the
         * coordinator's CA; plaintext when insecure. The caller owns (and shuts down) the channel.
         */
        public ManagedChannel openChannel() throws IOException {
            return Grpc.newChannelBuilder(coordinator, channelCredentials()).build();
        }

        @JsonIgnore
        public ChannelCredentials channelCredentials() throws IOException {
            if (insecure) {
                return InsecureChannelCredentials.create();
            }
            try {
                X509Certificate ca = Pem.readCertificate(Files.readString(Path.of(caFile)));
                X509Certificate cert = Pem.readCertificate(Files.readString(Path.of(certFile)));
                PrivateKey key = Pem.readPrivateKey(Files.readString(Path.of(keyFile)));
                return TlsChannelCredentials.newBuilder()
                        .keyManager(KeyMaterial.keyManagers(key, List.of(cert)))
                        .trustManager(KeyMaterial.trustOnly(List.of(ca)))
                        .build();
            } catch (IllegalArgumentException e) {
                throw new IOException("credentials of context " + name + " are unreadable: " + e.getMessage()
                        + " (re-run 'probemesh context add')", e);
            }
        }
    }

    /** The whole file. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Config(
            @JsonProperty("current-context") String currentContext,
            @JsonProperty("contexts") List<Context> contexts) {
        public Config {
            contexts = contexts == null ? List.of() : List.copyOf(contexts);
        }

        public Optional<Context> find(String name) {
            return contexts.stream().filter(c -> c.name().equals(name)).findFirst();
        }
    }

    /** The config, or an empty one if the file does not exist yet. */
    public Config load() throws IOException {
        if (!Files.exists(file)) {
            return new Config(null, List.of());
        }
        try {
            Config c = YAML.readValue(file.toFile(), Config.class);
            return c == null ? new Config(null, List.of()) : c;
        } catch (com.fasterxml.jackson.core.JacksonException e) {
            throw new IOException(file + " is not a valid probemesh config: " + e.getOriginalMessage(), e);
        }
    }

    private void save(Config config) throws IOException {
        FilePermissions.createPrivateDirectories(directory());
        FilePermissions.writePrivate(file, YAML.writeValueAsString(config).getBytes(StandardCharsets.UTF_8));
    }

    /** Adds or replaces the context of that name; the first context also becomes current. */
    public synchronized void add(Context context, boolean makeCurrent) throws IOException {
        Config c = load();
        List<Context> list = new ArrayList<>();
        c.contexts().stream().filter(x -> !x.name().equals(context.name())).forEach(list::add);
        list.add(context);
        String current = makeCurrent || c.currentContext() == null ? context.name() : c.currentContext();
        save(new Config(current, list));
    }

    public synchronized void use(String name) throws IOException {
        Config c = load();
        if (c.find(name).isEmpty()) {
            throw new IllegalArgumentException("no context named '" + name + "'; known: "
                    + c.contexts().stream().map(Context::name).toList());
        }
        save(new Config(name, c.contexts()));
    }

    /** Removes a context (not its copied files); false if it did not exist. */
    public synchronized boolean remove(String name) throws IOException {
        Config c = load();
        if (c.find(name).isEmpty()) {
            return false;
        }
        List<Context> rest = c.contexts().stream().filter(x -> !x.name().equals(name)).toList();
        save(new Config(name.equals(c.currentContext()) ? null : c.currentContext(), rest));
        return true;
    }

    public Optional<Context> current() throws IOException {
        Config c = load();
        return c.currentContext() == null ? Optional.empty() : c.find(c.currentContext());
    }

    /** The named context, or the current one when name is null; throws with a hint when none. */
    public Context resolve(String name) throws IOException {
        Config c = load();
        String wanted = name != null ? name : c.currentContext();
        if (wanted == null) {
            throw new IllegalArgumentException("no current context: run 'probemesh context add NAME --coordinator"
                    + " HOST:PORT --admin-dir DIR' with the admin credential the coordinator wrote at first start");
        }
        return c.find(wanted).orElseThrow(() -> new IllegalArgumentException("no context named '" + wanted
                + "' in " + file + "; see 'probemesh context list'"));
    }
}
