package dev.probemesh.coordinator.identity;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x500.style.BCStyle;
import org.bouncycastle.asn1.x500.style.IETFUtils;

/**
 * How an identity is written into a certificate and read back: subject CN=name, OU=site,
 * O=probemesh-agent (or probemesh-admin), and a SAN URI
 * {@code probemesh://agent/<site>/<name>?<label>=<value>&...} that carries the labels.
 */
public final class AgentCertificateNames {
    public static final String AGENT_ORG = "probemesh-agent";
    public static final String ADMIN_ORG = "probemesh-admin";
    public static final String SERVER_ORG = "probemesh-coordinator";
    public static final String URI_SCHEME = "probemesh";
    private static final int SAN_URI = 6;

    private AgentCertificateNames() {
    }

    /** What a certificate says about its holder. */
    public record CertIdentity(String organization, String commonName, String site, Map<String, String> labels) {
    }

    public static X500Name agentSubject(String name, String site) {
        return new X500Name(new RDN[] {
            rdn(BCStyle.O, AGENT_ORG), rdn(BCStyle.OU, site), rdn(BCStyle.CN, name)});
    }

    public static X500Name subject(String org, String cn) {
        return new X500Name(new RDN[] {rdn(BCStyle.O, org), rdn(BCStyle.CN, cn)});
    }

    private static RDN rdn(ASN1ObjectIdentifier oid, String value) {
        return new RDN(oid, new org.bouncycastle.asn1.DERUTF8String(value));
    }

    public static String agentUri(String name, String site, Map<String, String> labels) {
        StringBuilder sb = new StringBuilder(URI_SCHEME + "://agent/").append(enc(site)).append('/').append(enc(name));
        String sep = "?";
        for (Map.Entry<String, String> e : new TreeMap<>(labels).entrySet()) {
            sb.append(sep).append(enc(e.getKey())).append('=').append(enc(e.getValue()));
            sep = "&";
        }
        return sb.toString();
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Reads subject and SAN URI; empty when the certificate is not one of ours. */
    public static Optional<CertIdentity> read(X509Certificate cert) {
        X500Name subject = X500Name.getInstance(cert.getSubjectX500Principal().getEncoded());
        String org = first(subject, BCStyle.O);
        String cn = first(subject, BCStyle.CN);
        if (org == null || cn == null) {
            return Optional.empty();
        }
        String ou = first(subject, BCStyle.OU);
        Map<String, String> labels = Map.of();
        if (AGENT_ORG.equals(org)) {
            Optional<Map<String, String>> fromUri = labelsFromUri(cert, cn, ou);
            if (fromUri.isEmpty()) {
                return Optional.empty(); // an agent certificate whose SAN disagrees with its subject is not ours
            }
            labels = fromUri.get();
        }
        return Optional.of(new CertIdentity(org, cn, ou == null ? "" : ou, labels));
    }

    private static Optional<Map<String, String>> labelsFromUri(X509Certificate cert, String name, String site) {
        Collection<List<?>> sans;
        try {
            sans = cert.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            return Optional.empty();
        }
        if (sans == null) {
            return Optional.empty();
        }
        for (List<?> san : sans) {
            if (!(san.get(0) instanceof Integer type) || type != SAN_URI) {
                continue;
            }
            try {
                URI uri = new URI((String) san.get(1));
                if (!URI_SCHEME.equals(uri.getScheme()) || !"agent".equals(uri.getHost())) {
                    continue;
                }
                String[] path = uri.getRawPath().split("/");
                if (path.length != 3 || !dec(path[1]).equals(site) || !dec(path[2]).equals(name)) {
                    return Optional.empty();
                }
                Map<String, String> labels = new TreeMap<>();
                if (uri.getRawQuery() != null && !uri.getRawQuery().isEmpty()) {
                    for (String kv : uri.getRawQuery().split("&")) {
                        int eq = kv.indexOf('=');
                        if (eq < 0) {
                            return Optional.empty();
                        }
                        labels.put(dec(kv.substring(0, eq)), dec(kv.substring(eq + 1)));
                    }
                }
                return Optional.of(Map.copyOf(labels));
            } catch (URISyntaxException | IllegalArgumentException e) {
                return Optional.empty();
            }
        }
        return Optional.empty();
    }

    private static String dec(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }

    private static String first(X500Name name, ASN1ObjectIdentifier oid) {
        RDN[] rdns = name.getRDNs(oid);
        return rdns.length == 0 ? null : IETFUtils.valueToString(rdns[0].getFirst().getValue());
    }
}
