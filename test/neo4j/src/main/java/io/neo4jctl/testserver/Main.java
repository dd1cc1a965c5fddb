package io.neo4jctl.testserver;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.harness.Neo4j;
import org.neo4j.harness.Neo4jBuilders;
import org.neo4j.io.ByteUnit;

/**
 * Starts a throwaway Neo4j 5.26 server in-process for the Go tests.
 *
 * <p>Protocol (read by internal/testbed): the password of user {@code neo4j} comes from the
 * environment variable NEO4J_TEST_PASSWORD (required, never a default); when the server is up,
 * exactly one line {@code READY bolt://127.0.0.1:PORT http://127.0.0.1:PORT} goes to stdout.
 * The server stops, and removes its data directory, when stdin reaches EOF (the parent died
 * or closed it) or on SIGTERM.
 * Everything else the JVM says goes to stderr.
 */
public final class Main {
    public static void main(String[] args) throws Exception {
        // Keep stdout for the protocol line only.
        PrintStream protocol = System.out;
        System.setOut(System.err);

        String password = System.getenv("NEO4J_TEST_PASSWORD");
        if (password == null || password.length() < 8) {
            System.err.println("neo4j-testserver: NEO4J_TEST_PASSWORD must be set (8+ characters)");
            System.exit(2);
        }
        Path workDir = Files.createTempDirectory("neo4j-testserver-");

        long t0 = System.nanoTime();
        Neo4j neo4j = Neo4jBuilders.newInProcessBuilder(workDir)
                .withConfig(GraphDatabaseSettings.auth_enabled, true)
                .withConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress("127.0.0.1"))
                .withConfig(GraphDatabaseSettings.default_advertised_address, new SocketAddress("127.0.0.1"))
                .withConfig(BoltConnector.enabled, true)
                .withConfig(BoltConnector.listen_address, new SocketAddress("127.0.0.1", 0))
                .withConfig(HttpConnector.enabled, true)
                .withConfig(HttpConnector.listen_address, new SocketAddress("127.0.0.1", 0))
                .withConfig(HttpsConnector.enabled, false)
                .withConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(32))
                .build();
        neo4j.databaseManagementService()
                .database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME)
                .executeTransactionally(
                        "ALTER USER neo4j SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));

        URI bolt = neo4j.boltURI();
        URI http = neo4j.httpURI();
        System.err.printf("neo4j-testserver: started in %d ms, data in %s%n",
                (System.nanoTime() - t0) / 1_000_000, workDir);

        // A throwaway server: no graceful shutdown (it takes ~10 s and keeps nothing worth
        // keeping). On SIGTERM/SIGINT, or when the parent closes stdin (or dies), remove the
        // data directory and halt.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(workDir), "neo4j-testserver-cleanup"));

        protocol.println("READY " + bolt + " " + http);
        protocol.flush();

        InputStream in = System.in;
        byte[] buf = new byte[256];
        try {
            while (in.read(buf) >= 0) {
                // ignore input
            }
        } catch (IOException ignored) {
            // treat as EOF
        }
        deleteTree(workDir);
        Runtime.getRuntime().halt(0);
    }

    private static void deleteTree(Path root) {
        try (var paths = Files.walk(root)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort
        }
    }
}
